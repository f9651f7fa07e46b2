"""Alerts: one email-worthy signal for one user, with its delivery state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from scanner.models import Signal


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
        db_table = "scanner_alert"  # kept from when the model lived in scanner
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["ticker", "created_at"], name="alert_cooldown"),
            models.Index(fields=["trading_day", "user"], name="alert_daily_cap"),
            models.Index(fields=["status", "send_after"], name="alert_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "user",
                    "ticker",
                    "pair",
                    "structure",
                    "front_expiry",
                    "back_expiry",
                    "trading_day",
                    "ff_bucket",
                ],
                name="unique_alert_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert {self.ticker} {self.pair} to {self.user}"
