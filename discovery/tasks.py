"""Celery tasks of the discovery universe: the daily refresh and the sweep that scans its members.

Task names keep the ``scanner.tasks.`` prefix they had before discovery became an app of its own:
beat entries in the database and messages already queued carry those names.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

from discovery import universe
from forwardfactor.task_retry import retrying
from market.clock import is_session_open, market_now, trading_day
from scanner.polygon.errors import TransientError
from scanner.tasks import scan_ticker


@shared_task(
    name="scanner.tasks.refresh_universe",
    queue="scan",
    **retrying(TransientError, backoff=30, backoff_max=600, max_retries=6),
    # Options checks of a cold cache go through the fleet's rate limit: allow minutes, not seconds.
    soft_time_limit=300,
    time_limit=360,
)
def refresh_universe(day: str | None = None, size: int | None = None) -> dict:
    """Build the discovery universe of the last session on or before ``day`` (default: the last completed one)."""
    outcome = universe.refresh_universe(day=date.fromisoformat(day) if day else None, size=size)
    return {
        "date": outcome.session_date.isoformat() if outcome.session_date else None,
        "members": len(outcome.members),
        "kept_previous": outcome.kept_previous,
        "message": outcome.message,
    }


ENQUEUE_BATCH = 500  # scans sent on one broker connection before it goes back to the pool


@shared_task(name="scanner.tasks.discovery_sweep", queue="scan", **retrying())
def discovery_sweep() -> dict:
    """In a session, enqueue a discovery scan for every universe member not scanned within the sweep
    interval, after one full-market snapshot request per 250 of them: their prices let the scans
    plan on a listing probed on an earlier day (see scanner.chain_source)."""
    at = market_now()
    if not is_session_open(at):
        return {"enqueued": 0, "skipped": "market closed"}
    interval = timedelta(minutes=settings.DISCOVERY_SWEEP_MINUTES)
    # Scans stamp last_scan_at with the wall clock. 90% of the interval: the previous sweep's scans
    # finish shortly after it started and must still count as due.
    due = universe.tickers_due_for_discovery(trading_day(at), timezone.now() - interval * 0.9)
    price_requests = universe.remember_sweep_prices(due)
    for start in range(0, len(due), ENQUEUE_BATCH):
        with current_app.producer_or_acquire() as producer:
            for ticker in due[start : start + ENQUEUE_BATCH]:
                # A scan still queued when the next sweep comes is superseded by that sweep's.
                scan_ticker.apply_async(
                    args=[ticker, "discovery"], expires=interval.total_seconds(), producer=producer, ignore_result=True
                )
    return {"enqueued": len(due), "day": trading_day(at).isoformat(), "price_requests": price_requests}
