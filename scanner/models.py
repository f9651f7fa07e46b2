"""What the scanner knows: tickers, earnings dates, scans and the signals they found."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.validators import validate_ticker


class Ticker(models.Model):
    """An underlying the service has seen: its last scan, options check and stream settings."""

    symbol = models.CharField(max_length=8, unique=True, validators=[validate_ticker])
    last_scan_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_scan_price = models.FloatField(null=True, blank=True)
    has_options = models.BooleanField(null=True, blank=True)
    options_checked_at = models.DateTimeField(null=True, blank=True)
    move_threshold = models.FloatField(
        null=True, blank=True, help_text="Rescan on a move of this fraction (0.005 = 0.5%); empty: the default."
    )
    earnings_checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the vendor was last asked for this ticker's earnings dates (by the market's clock).",
    )
    earnings_answer = models.CharField(
        max_length=16,
        choices=[("vendor", "the vendor answered"), ("not_entitled", "the plan lacks earnings data")],
        blank=True,
        help_text="What that request got; empty: never asked.",
    )
    last_scan = models.ForeignKey(
        "Scan",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Its latest completed scan (the board says why a ticker has no signal from it).",
    )

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class EarningsEvent(models.Model):
    """A known earnings date; inside a pair's window it yields an ex-earnings FF and a flag.

    ``source`` says where the row came from: "vendor" (refreshed from the market-data vendor, which
    removes its own rows when a date moves), "admin", or an import's label ("csv" by default)."""

    VENDOR = "vendor"

    class TimeOfDay(models.TextChoices):
        BEFORE_OPEN = "before_open", "before the open"
        DURING = "during_session", "during the session"
        AFTER_CLOSE = "after_close", "after the close"
        UNKNOWN = "unknown", "time not known"

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "confirmed"
        PROJECTED = "projected", "projected"
        UNSTATED = "", "not stated"

    ticker = models.CharField(max_length=8, validators=[validate_ticker])
    date = models.DateField()
    time_of_day = models.CharField(max_length=16, choices=TimeOfDay.choices, default=TimeOfDay.UNKNOWN)
    status = models.CharField(
        max_length=10, choices=Status.choices, blank=True, help_text="Whether the company confirmed the date."
    )
    expected_move = models.FloatField(
        null=True, blank=True, help_text="Expected one-day move as a fraction (0.05 = 5%); empty: estimated."
    )
    source = models.CharField(
        max_length=40, blank=True, default="admin", help_text='"vendor", "admin", or the import\'s label (e.g. csv).'
    )

    class Meta:
        ordering = ["ticker", "date"]
        constraints = [models.UniqueConstraint(fields=["ticker", "date"], name="unique_earnings_event")]

    def __str__(self) -> str:
        return f"{self.ticker} earnings {self.date}"


class Scan(models.Model):
    class Reason(models.TextChoices):
        MOVE = "move"
        HEARTBEAT = "heartbeat"
        DISCOVERY = "discovery"
        MANUAL = "manual"

    class Outcome(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        NO_PAIR = "no_pair"  # options listed, but no expiry pair within tolerance: nothing to evaluate
        NO_DATA = "no_data"
        FAILED = "failed"

    ticker = models.CharField(max_length=8, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    task_id = models.CharField(max_length=64, blank=True, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        default=timezone.now, help_text="Last sign of life of the scan's task: touched at each stage of the scan."
    )
    fetch_ms = models.FloatField(null=True, blank=True)
    compute_ms = models.FloatField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    contracts = models.PositiveIntegerField(default=0)
    dropped = models.JSONField(default=dict, blank=True)
    underlying_price = models.FloatField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs of this scan (retries, redeliveries).")
    alerts = models.PositiveIntegerField(default=0, help_text="Alerts this scan created.")
    error = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="The engine's notes: why a pair or structure gave nothing.")
    term_structure = models.JSONField(
        default=list,
        blank=True,
        help_text='ATM IV per listed expiry up to a year: [{"expiry", "dte", "atm_iv", "source"}], source '
        '"chain" (fetched, at the forward) or "probe" (the expiry probe\'s near-the-money IV).',
    )

    class Meta:
        ordering = ["-started_at"]
        # The sweeper looks for running scans whose task went silent.
        indexes = [
            models.Index(fields=["heartbeat_at"], name="scan_running_heartbeat", condition=models.Q(outcome="running"))
        ]

    def __str__(self) -> str:
        return f"{self.ticker} {self.reason} scan at {self.started_at:%Y-%m-%d %H:%M}"


class Signal(models.Model):
    """One evaluated expiry pair and structure of a scan, kept whether or not it alerted anyone."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="signals")
    ticker = models.CharField(max_length=8, db_index=True)
    structure = models.CharField(max_length=24)
    pair = models.CharField(max_length=9)
    front_expiry = models.DateField()
    back_expiry = models.DateField()
    ff = models.FloatField(null=True, blank=True, help_text="Ranking figure: FF, or min(call, put) for doubles.")
    passes_liquidity = models.BooleanField(default=False)
    as_of = models.DateTimeField(db_index=True)
    data = models.JSONField(help_text="The engine's full signal dict.")

    class Meta:
        ordering = ["-as_of", "ticker", "pair"]
        indexes = [models.Index(fields=["ticker", "structure", "pair", "-as_of"], name="signal_history")]

    def __str__(self) -> str:
        return f"{self.ticker} {self.structure} {self.pair} FF={self.ff}"


class LatestSignal(models.Model):
    """The board's read model: the latest signal of each ticker x pair x structure, written by each scan.

    The columns the board filters and sorts on are copied out of the signal, so the board never reads
    the Signal table (which grows with every scan). A row only moves forward: an older scan committing
    late does not overwrite a newer one (scanner.latest)."""

    ticker = models.CharField(max_length=8)
    pair = models.CharField(max_length=9)
    structure = models.CharField(max_length=24)
    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="+")
    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="+")
    front_expiry = models.DateField()
    back_expiry = models.DateField()
    ff = models.FloatField(null=True, blank=True)
    ff_ex_earnings = models.FloatField(null=True, blank=True)
    forward_iv = models.FloatField(null=True, blank=True)
    spread_cost_pct = models.FloatField(null=True, blank=True)
    passes_liquidity = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True, help_text="Why a leg fails the engine's liquidity floors.")
    earnings_date = models.DateField(null=True, blank=True, help_text="The first known earnings date in the window.")
    as_of = models.DateTimeField(help_text="When the market data of the signal was current.")

    class Meta:
        ordering = ["ticker", "pair", "structure"]
        constraints = [
            models.UniqueConstraint(fields=["ticker", "pair", "structure"], name="unique_latest_signal"),
        ]

    def __str__(self) -> str:
        return f"latest {self.ticker} {self.structure} {self.pair} FF={self.ff}"


class OptionableUnderlying(models.Model):
    """A US underlying the service knows to have listed options: what a trader may follow.

    Kept from the vendor's listing (daily) and from what the service itself learnt (scans and the
    discovery universe's options checks), see scanner.underlyings.
    """

    symbol = models.CharField(max_length=8, unique=True, validators=[validate_ticker])
    name = models.CharField(max_length=120, blank=True)
    refreshed_at = models.DateTimeField()  # last confirmed by either source
    vendor_seen_at = models.DateTimeField(null=True, blank=True)  # last listed by the vendor; None: never

    class Meta:
        ordering = ["symbol"]
        verbose_name_plural = "optionable underlyings"

    def __str__(self) -> str:
        return self.symbol


class SignalDay(models.Model):
    """One day of a ticker x pair x structure's signals, kept after their Signal rows are pruned.

    Written by scanner.retention from every signal of the day (its rows older than
    SIGNAL_RETENTION_DAYS are then deleted); the ticker page's FF history draws ``ff_last`` at
    ``last_as_of`` for these days. "Last" is the day's latest signal by its market data time."""

    ticker = models.CharField(max_length=8)
    pair = models.CharField(max_length=9)
    structure = models.CharField(max_length=24)
    day = models.DateField(help_text="The New York date of the signals' market data.")
    signals = models.PositiveIntegerField(help_text="Signals of the day rolled up into this row.")
    passing = models.PositiveIntegerField(help_text="Of them, those whose legs passed the engine's liquidity floors.")
    first_as_of = models.DateTimeField()
    last_as_of = models.DateTimeField()
    ff_last = models.FloatField(null=True, blank=True)
    ff_min = models.FloatField(null=True, blank=True)
    ff_max = models.FloatField(null=True, blank=True)
    ff_ex_earnings_last = models.FloatField(null=True, blank=True)
    front_expiry = models.DateField(help_text="The last signal's.")
    back_expiry = models.DateField(help_text="The last signal's.")
    strike = models.FloatField(null=True, blank=True, help_text="The last signal's (the call strike).")
    front_iv = models.FloatField(null=True, blank=True)
    back_iv = models.FloatField(null=True, blank=True)
    forward_iv = models.FloatField(null=True, blank=True)
    spread_cost_pct = models.FloatField(null=True, blank=True)
    underlying_price = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "ticker", "pair", "structure"]
        constraints = [
            models.UniqueConstraint(fields=["ticker", "pair", "structure", "day"], name="one_signal_day"),
        ]
        indexes = [models.Index(fields=["ticker", "last_as_of"], name="signal_day_history")]

    def __str__(self) -> str:
        return f"{self.ticker} {self.structure} {self.pair} on {self.day}: last FF={self.ff_last}"


class ScanDay(models.Model):
    """One day of a ticker's scans, kept after their Scan rows are pruned (scanner.retention).

    The day is the New York date of the scan's market data (of its start when it got none)."""

    ticker = models.CharField(max_length=8)
    day = models.DateField()
    scans = models.PositiveIntegerField()
    outcomes = models.JSONField(default=dict, help_text='Scans by outcome, e.g. {"ok": 28, "failed": 1}.')
    reasons = models.JSONField(default=dict, help_text='Scans by reason, e.g. {"move": 20, "heartbeat": 9}.')
    requests = models.PositiveIntegerField(default=0, help_text="Vendor requests of the day's scans.")
    contracts = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    first_started_at = models.DateTimeField()
    last_started_at = models.DateTimeField()
    last_price = models.FloatField(
        null=True, blank=True, help_text="The underlying's price at the day's last priced scan."
    )
    last_price_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "ticker"]
        constraints = [models.UniqueConstraint(fields=["ticker", "day"], name="one_scan_day")]

    def __str__(self) -> str:
        return f"{self.ticker} on {self.day}: {self.scans} scans"


class RetentionProgress(models.Model):
    """How far pruning has gone: every scan with an id up to ``through_scan_id`` is rolled up.

    One row (pk 1). Each batch locks it, so batches of concurrent runs take turns and a run that
    stopped half-way resumes after the last committed batch."""

    through_scan_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "retention progress"

    def __str__(self) -> str:
        return f"rolled up through scan {self.through_scan_id}"
