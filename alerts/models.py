"""Alerts and messages: an Alert is one email-worthy (pair, structure) signal for one user, the unit of
cooldowns and dedupe; a Message is what the user receives for one ticker of one scan (every alert of
it, strongest first), the unit of delivery, with its exactly-once state, and of the daily caps."""

from __future__ import annotations

import functools
import uuid
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from scanner.models import Scan, Signal


class Kind(models.TextChoices):
    SUBSCRIPTION = "subscription"
    DISCOVERY = "discovery"


# Messages that alerts 0002 made from the alerts of before messages, one per alert (so possibly several
# per user and scan); their Message-IDs start so. Only newer messages are held to one per user and scan.
LEGACY_MESSAGES = Q(message_id__startswith="<alert-")


def message_domain() -> str:
    """The right-hand side of our Message-IDs: the sender's domain, else the site's host."""
    return _domain(settings.DEFAULT_FROM_EMAIL, settings.SITE_URL)


@functools.lru_cache(maxsize=8)
def _domain(from_email: str, site_url: str) -> str:
    # Cached: parsing the address took a tenth of the time of storing a 10,000-user fan-out.
    return parseaddr(from_email)[1].rpartition("@")[2] or urlsplit(site_url).hostname or "localhost"


def new_message_id() -> str:
    return f"<msg-{uuid.uuid4().hex}@{message_domain()}>"


class Message(models.Model):
    """One email to one user about one ticker of one scan, or part of a digest when held.

    One per user and scan (a user is routed once per ticker, as a subscriber or a discovery user, so
    the kind needs no place in the key; a digest is an email of several messages, not a message).
    Moves pending -> sending -> sent | failed (or held -> sending for quiet hours and digests) by
    conditional UPDATEs guarded by the claiming send task's id (alerts/outbox.py).
    """

    Kind = Kind

    class Status(models.TextChoices):
        PENDING = "pending"
        HELD = "held"  # waiting for the end of quiet hours or the daily digest (send_after)
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        CANCELLED = "cancelled"  # the user unsubscribed before it went out, or an operator cancelled it

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages")
    ticker = models.CharField(max_length=8)
    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    trading_day = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(
        max_length=64, blank=True, help_text="The send task that moved it to sending (its retries reuse the claim)."
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While sending: the claim holds until then, renewed by its live task; a lapsed claim is released.",
    )
    queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a send task for it was last queued again (the first is queued at creation); "
        "one still pending ALERT_PENDING_REQUEUE_SECONDS later is queued once more.",
    )
    error = models.TextField(blank=True)
    # Fixed at creation: a re-send (the one duplicate window) carries the same Message-ID.
    message_id = models.CharField("Message-ID", max_length=200, unique=True, default=new_message_id)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["trading_day", "user"], name="message_daily_cap"),
            models.Index(fields=["status", "send_after"], name="message_due"),
            models.Index(fields=["status", "created_at"], name="message_stale"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["scan", "user"], condition=~LEGACY_MESSAGES, name="one_message_per_scan")
        ]

    def __str__(self) -> str:
        return f"{self.kind} message {self.ticker} to {self.user}"


class Alert(models.Model):
    """One email-worthy signal for one user. The unique key makes a re-run create nothing new; its
    delivery is its message's."""

    Kind = Kind

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="alerts")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ticker = models.CharField(max_length=8)
    structure = models.CharField(max_length=24)
    pair = models.CharField(max_length=9)
    front_expiry = models.DateField()
    back_expiry = models.DateField()
    trading_day = models.DateField()
    ff_bucket = models.IntegerField(help_text="The level of ff_judged (part of the unique key).")
    ff = models.FloatField(help_text="The signal's FF, as the email and the pages show it.")
    ff_judged = models.FloatField(
        help_text="The FF the user's earnings policy judged: ex-earnings when earnings fall inside the window "
        "under ex_earnings, else ff. Cooldowns, FF levels and the order of a message use it."
    )
    # Set by the router to the time its cooldown and quiet-hour decisions used.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "scanner_alert"  # kept from when the model lived in scanner
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["ticker", "created_at"], name="alert_cooldown"),
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
