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

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


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
