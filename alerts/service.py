"""From a scan's stored signals to alerts and send batches, hooked onto the scan service.

The scanner announces each scan (``scanner.scanning.signals_stored`` inside its transaction,
``scan_finished`` after it commits); this module answers: route the signals to their users, store
the alerts with one message per user (all of that user's alerts of the scan, strongest first), and
enqueue one ``send_messages`` task per batch of the scan's pending messages once the scan committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alerts import outbox, routing
from alerts.tasks import enqueue_message_batches
from market.clock import trading_day
from scanner import scanning
from scanner.models import Scan, Signal


def alert_signals(
    ticker: str, signals: Sequence[Signal], scan_id: int | None, now: datetime | None = None
) -> list[outbox.PlannedMessage]:
    """Route a scan's saved signals to their users and store the messages with their alerts; the new ones.

    A fixed number of queries whatever the number of users. ``now`` is wall-clock time (cooldowns,
    quiet hours); the trading day comes from the signals' own timestamp. The routed users stay locked
    from counting their alerts of the day until the new ones are committed, so scans of different
    tickers alerting the same user at once cannot together exceed a daily cap.
    """
    if not signals:
        return []
    now = now or timezone.now()
    day = trading_day(signals[0].as_of)
    recipients = routing.candidate_recipients(ticker, day)
    routed = routing.route_signals([s.data for s in signals], recipients)
    if not routed:
        return []
    routed_recipients = [r for rs in routed.values() for r in rs]
    with transaction.atomic(savepoint=False):
        outbox.lock_recipients({r.user_id for r in routed_recipients})
        history = outbox.load_history(ticker, day, routed_recipients, now, scan_id)
        planned = outbox.plan_messages(signals, routed, history, now)
        outbox.save_messages(planned)
        return planned


def alert_stored_signals(sender, scan: Scan, signals: Sequence[Signal], **kwargs) -> int:
    """The number of alerts created (what the scan records); their messages are sent after the commit."""
    return sum(len(p.alerts) for p in alert_signals(scan.ticker, signals, scan.pk))


def send_pending_messages(
    sender, scan: Scan, dispatch: Callable[[Sequence[int]], None] | None = None, **kwargs
) -> list[int]:
    """Enqueue the scan's pending messages (also on a redelivery of a scan that completed); their ids."""
    pending = outbox.pending_message_ids_of_scan(scan.pk)
    (dispatch or enqueue_message_batches)(pending)
    return pending


def connect() -> None:
    scanning.signals_stored.connect(alert_stored_signals, sender=Scan, dispatch_uid="alerts.alert_stored_signals")
    scanning.scan_finished.connect(send_pending_messages, sender=Scan, dispatch_uid="alerts.send_pending_alerts")
