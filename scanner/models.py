"""What the scanner knows: tickers, the daily universe, scans, the signals they found, alerts sent."""

from __future__ import annotations

from django.conf import settings
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

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class UniverseSnapshot(models.Model):
    """The discovery universe of one NYSE session: the top-N liquid optionable stocks."""

    session_date = models.DateField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-session_date"]
        get_latest_by = "session_date"

    def __str__(self) -> str:
        return f"Universe of {self.session_date}"


class UniverseMember(models.Model):
    snapshot = models.ForeignKey(UniverseSnapshot, on_delete=models.CASCADE, related_name="members")
    rank = models.PositiveIntegerField()
    ticker = models.CharField(max_length=8)
    volume = models.FloatField()
    dollar_volume = models.FloatField()

    class Meta:
        ordering = ["snapshot", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "ticker"], name="unique_universe_ticker"),
            models.UniqueConstraint(fields=["snapshot", "rank"], name="unique_universe_rank"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.ticker}"


class UniverseExclusion(models.Model):
    """Tickers an operator keeps out of the discovery universe."""

    ticker = models.CharField(max_length=8, unique=True, validators=[validate_ticker])
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticker"]

    def __str__(self) -> str:
        return self.ticker


class EarningsEvent(models.Model):
    """A known earnings date; inside a pair's window it yields an ex-earnings FF and a flag."""

    ticker = models.CharField(max_length=8, validators=[validate_ticker])
    date = models.DateField()
    expected_move = models.FloatField(
        null=True, blank=True, help_text="Expected one-day move as a fraction (0.05 = 5%); empty: estimated."
    )
    source = models.CharField(max_length=40, blank=True)

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
        NO_DATA = "no_data"
        FAILED = "failed"

    ticker = models.CharField(max_length=8, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    task_id = models.CharField(max_length=64, blank=True, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
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

    class Meta:
        ordering = ["-started_at"]

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


class Alert(models.Model):
    """One email-worthy signal for one user. The unique key makes a re-run create nothing new."""

    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription"
        DISCOVERY = "discovery"

    class Status(models.TextChoices):
        PENDING = "pending"
        HELD = "held"  # waiting for the end of quiet hours or the daily digest (send_after)
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        CANCELLED = "cancelled"  # the user unsubscribed before it went out

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    ticker = models.CharField(max_length=8)
    structure = models.CharField(max_length=24)
    pair = models.CharField(max_length=9)
    front_expiry = models.DateField()
    back_expiry = models.DateField()
    trading_day = models.DateField()
    ff_bucket = models.IntegerField()
    ff = models.FloatField()
    # Set by the router to the time its cooldown and quiet-hour decisions used.
    created_at = models.DateTimeField(default=timezone.now)
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(
        max_length=64, blank=True, help_text="The send task that moved it to sending (its retries reuse the claim)."
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["ticker", "created_at"], name="alert_cooldown"),
            models.Index(fields=["trading_day", "user"], name="alert_daily_cap"),
            models.Index(fields=["status", "send_after"], name="alert_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ticker", "pair", "structure", "front_expiry", "back_expiry", "trading_day", "ff_bucket"],
                name="unique_alert_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert {self.ticker} {self.pair} to {self.user}"
