"""Paper trades of the reference rule and their marks (README "Track record (paper trades)").

Prices are a share unless the field says per spread (one contract of every leg, 100 shares each).
Opening figures are debits (paid), closing figures and marks credits (what closing would receive).
"""

from __future__ import annotations

from django.db import models


def strikes_key(strike: float, put_strike: float | None) -> str:
    """The strikes in the trade's unique key: not null, so the key holds on every database."""
    return f"{strike:g}" if put_strike is None else f"{strike:g}/{put_strike:g}"


class PaperTrade(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    class ExitReason(models.TextChoices):
        EXIT_RULE = "exit_rule", "near the close of the last session before the front expiry"
        TAKE_PROFIT = "take_profit", "take-profit"
        MAX_HOLD = "max_hold", "maximum holding time"
        NO_QUOTE = "no_quote", "no quote at the exit: closed at the last mark"

    # What was traded: one trade per key, ever (the unique constraint below).
    ticker = models.CharField(max_length=8)
    structure = models.CharField(max_length=24)
    pair = models.CharField(max_length=9)
    front_expiry = models.DateField()
    back_expiry = models.DateField()
    strike = models.FloatField(help_text="The call strike.")
    put_strike = models.FloatField(null=True, blank=True, help_text="Double calendars only.")
    strikes = models.CharField(max_length=32, help_text='The key\'s strikes: "100" or, for a double, "105/95".')
    legs = models.JSONField(
        help_text="The contracts and their quotes at entry: leg, contract_type, expiry, strike, bid, ask, mid."
    )

    # Entry: the signal that opened it and what the rule judged.
    signal = models.ForeignKey("scanner.Signal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(db_index=True, help_text="The opening signal's quote time.")
    ff = models.FloatField(help_text="The FF the reference rule judged (ex-earnings when earnings are in the window).")
    earnings_in_window = models.BooleanField(default=False)
    fill_share = models.FloatField(help_text="Share of the way from mid to natural of the realistic fills.")
    commission_per_contract = models.FloatField()
    entry_mid = models.FloatField()
    entry_natural = models.FloatField()
    entry_fill = models.FloatField()
    entry_mid_per_spread = models.FloatField()
    entry_fill_per_spread = models.FloatField()
    entry_commission = models.FloatField(help_text="Per spread: legs × commission per contract.")
    exit_due_at = models.DateTimeField(db_index=True, help_text="When the exit rule (or the maximum hold) closes it.")

    # The last mark (copied from the latest Mark so exits read one row).
    last_mark_at = models.DateTimeField(null=True, blank=True)
    last_mark_legs = models.JSONField(
        default=list, blank=True, help_text="Each leg's last quote and when it was quoted."
    )
    last_mark_mid = models.FloatField(null=True, blank=True)
    last_mark_fill = models.FloatField(null=True, blank=True)
    last_mark_complete = models.BooleanField(default=False, help_text="Every leg was quoted in the last mark.")

    # Exit.
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=12, choices=ExitReason.choices, blank=True)
    exit_mid = models.FloatField(null=True, blank=True)
    exit_natural = models.FloatField(null=True, blank=True)
    exit_fill = models.FloatField(null=True, blank=True)
    exit_commission = models.FloatField(null=True, blank=True)
    pnl_mid = models.FloatField(null=True, blank=True, help_text="Per spread, commissions on entry and exit included.")
    pnl_fill = models.FloatField(null=True, blank=True, help_text="Per spread, commissions on entry and exit included.")
    return_mid = models.FloatField(null=True, blank=True, help_text="pnl_mid over the mid debit per spread.")
    return_fill = models.FloatField(null=True, blank=True, help_text="pnl_fill over the realistic debit per spread.")
    flags = models.JSONField(default=list, blank=True, help_text="e.g. no_quote, leg_unquoted, stale_quotes")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # Two scans racing (or one stored twice) cannot open the same trade twice.
            models.UniqueConstraint(
                fields=["ticker", "pair", "structure", "front_expiry", "back_expiry", "strikes"],
                name="one_paper_trade_per_spread",
            )
        ]
        indexes = [models.Index(fields=["ticker"], name="open_trades_by_ticker", condition=models.Q(status="open"))]

    def __str__(self) -> str:
        return f"{self.ticker} {self.structure} {self.front_expiry}/{self.back_expiry} {self.strikes}"


class Mark(models.Model):
    """What closing a trade would have received at one scan: its legs' quotes, mid and realistic."""

    trade = models.ForeignKey(PaperTrade, on_delete=models.CASCADE, related_name="marks")
    scan = models.ForeignKey("scanner.Scan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(help_text="The quotes' time (the scan's chain).")
    legs = models.JSONField(help_text="Every leg's quote used: the fresh one, or its last one when unquoted.")
    mid = models.FloatField(help_text="Closing credit at the mids, a share.")
    natural = models.FloatField(help_text="Closing credit at the natural (sell back at the bid, buy front at the ask).")
    fill = models.FloatField(help_text="Closing credit at the realistic fill, a share.")
    unquoted = models.JSONField(
        default=list, blank=True, help_text="Legs this scan did not quote (their last quote kept)."
    )
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["trade", "at"]

    def __str__(self) -> str:
        return f"mark of {self.trade} at {self.at:%Y-%m-%d %H:%M}"
