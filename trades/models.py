"""Paper trades of the reference rule and their marks (README "Track record (paper trades)").

Prices are a share unless the field says per spread (one contract of every leg, 100 shares each).
Opening figures are debits (paid), closing figures and marks credits (what closing would receive).
"""

from __future__ import annotations

from django.conf import settings
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


class PlacedTrade(models.Model):
    """A spread a user says they placed ("I placed this" in an alert), or an alert they ignored.

    One row per (user, alert): a second click changes nothing. The entry debit is the user's own fill
    when they give it, else the signal's suggested limit, else its realistic fill (a share). Marked at
    every scan carrying its legs: from the paper trade of the same spread when there is one (its marks
    are the placed trade's), else by its own marks (PlacedMark). Reminders go out while it is open.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        IGNORED = "ignored"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="placed_trades")
    # An id, not a foreign key: trades does not depend on alerts (.importlinter), the site joins them.
    alert_id = models.BigIntegerField(help_text="The alert (one signal of one message) it was placed from.")
    signal = models.ForeignKey("scanner.Signal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    paper_trade = models.ForeignKey(
        PaperTrade,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="placed",
        help_text="The paper trade of the same spread, whose marks this trade shares.",
    )
    ticker = models.CharField(max_length=8)
    structure = models.CharField(max_length=24)
    pair = models.CharField(max_length=9)
    front_expiry = models.DateField()
    back_expiry = models.DateField()
    strike = models.FloatField(help_text="The call strike.")
    put_strike = models.FloatField(null=True, blank=True, help_text="Double calendars only.")
    strikes = models.CharField(max_length=32)
    legs = models.JSONField(help_text="The contracts and their quotes in the alert.")
    quoted_at = models.DateTimeField(help_text="The alert's quote time.")
    placed_at = models.DateTimeField(help_text="When the user said so.")

    suggested_limit = models.FloatField(null=True, blank=True, help_text="The alert's suggested limit, a share.")
    realistic_fill = models.FloatField(help_text="The fill model's opening debit at the alert's quotes, a share.")
    own_fill = models.FloatField(null=True, blank=True, help_text="The debit the user says they paid, a share.")
    fill_share = models.FloatField()
    commission_per_contract = models.FloatField()

    last_mark_at = models.DateTimeField(null=True, blank=True)
    last_mark_legs = models.JSONField(default=list, blank=True)
    last_mark_mid = models.FloatField(null=True, blank=True)
    last_mark_fill = models.FloatField(null=True, blank=True)
    last_mark_complete = models.BooleanField(default=False)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        constraints = [
            # A double click (or the link clicked in two tabs) places once.
            models.UniqueConstraint(fields=["user", "alert_id"], name="one_placed_trade_per_alert"),
        ]
        indexes = [models.Index(fields=["ticker"], name="open_placed_by_ticker", condition=models.Q(status="open"))]

    def __str__(self) -> str:
        return (
            f"{self.user} placed {self.ticker} {self.structure} {self.front_expiry}/{self.back_expiry} {self.strikes}"
        )

    @property
    def entry_debit(self) -> float:
        """A share: the user's fill, else the suggested limit, else the realistic fill."""
        for value in (self.own_fill, self.suggested_limit):
            if value is not None:
                return value
        return self.realistic_fill

    @property
    def entry_source(self) -> str:
        if self.own_fill is not None:
            return "your fill"
        return "the suggested limit" if self.suggested_limit is not None else "the realistic fill"

    @property
    def commissions(self) -> float:
        """Per spread, opening and closing."""
        return 2 * round(len(self.legs) * self.commission_per_contract, 2)

    @property
    def pnl_per_spread(self) -> float | None:
        """Closing at the last mark's realistic fill, in dollars per spread, commissions included."""
        if self.last_mark_fill is None:
            return None
        return round((self.last_mark_fill - self.entry_debit) * 100 - self.commissions, 2)


class PlacedMark(models.Model):
    """A placed trade's own mark (when no paper trade of the same spread marks it), as Mark."""

    placed = models.ForeignKey(PlacedTrade, on_delete=models.CASCADE, related_name="marks")
    scan = models.ForeignKey("scanner.Scan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    legs = models.JSONField()
    mid = models.FloatField()
    natural = models.FloatField()
    fill = models.FloatField()
    unquoted = models.JSONField(default=list, blank=True)
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["placed", "at"]

    def __str__(self) -> str:
        return f"mark of {self.placed} at {self.at:%Y-%m-%d %H:%M}"


class Reminder(models.Model):
    """One exit reminder of a placed trade, sent at most once.

    Moves pending -> sending -> sent by conditional UPDATEs guarded by the sending task's id (as the
    alerts outbox), or pending -> cancelled when the user closes the trade.
    """

    class Kind(models.TextChoices):
        EVE = "eve", "the session before the front expiry"
        EXPIRY_OPEN = "expiry_open", "the open on the front expiry day"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        CANCELLED = "cancelled"

    placed = models.ForeignKey(PlacedTrade, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["placed", "kind"], name="one_reminder_per_kind")]
        indexes = [models.Index(fields=["status", "due_at"], name="reminder_due")]

    def __str__(self) -> str:
        return f"{self.kind} reminder of {self.placed}"
