"""The heartbeat task. Registered under ``scanner.tasks.*`` (beat entry and queue routes use that name)."""

from __future__ import annotations

from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

HEARTBEAT_EVERY = timedelta(minutes=10)


@shared_task(name="scanner.tasks.stream_heartbeat")
def stream_heartbeat() -> dict:
    """In a session, enqueue ``scan_ticker(t, "heartbeat")`` for watched tickers not scanned lately."""
    from scanner.market_clock import is_session_open, market_now
    from scanner.stream.heartbeat import stale_tickers
    from scanner.stream.watchset import load_watch_set
    from scanner.tasks import scan_ticker

    at = market_now()
    if not is_session_open(at):
        return {"enqueued": 0, "skipped": "market closed"}
    # Scans stamp last_scan_at with the wall clock, so staleness is judged on it too.
    due = stale_tickers(load_watch_set().symbols, timezone.now() - timedelta(minutes=settings.HEARTBEAT_STALE_MINUTES))
    with current_app.producer_or_acquire() as producer:
        for ticker in due:
            # Superseded by the next heartbeat if it waited that long in the queue.
            scan_ticker.apply_async(args=[ticker, "heartbeat"], expires=HEARTBEAT_EVERY.total_seconds(),
                                    producer=producer)
    return {"enqueued": len(due)}
