"""Celery tasks of the scan pipeline. Thin: they take tickers, call the scan service, report a dict.

Every task is idempotent (DESIGN.md §5): scans are single-flight per ticker and continue their own
Scan row when retried or redelivered.
"""

from __future__ import annotations

from datetime import timedelta

from celery import current_app, shared_task
from celery.signals import worker_init
from django.conf import settings
from django.utils import timezone

from forwardfactor.heartbeat import Heartbeat
from forwardfactor.shared_state import shared_redis
from forwardfactor.task_retry import retrying
from market.clock import is_session_open, market_now
from scanner import abandoned, earnings, retention, scanning, underlyings
from scanner.polygon.errors import TransientError
from scanner.stream.heartbeat import stale_tickers
from scanner.stream.leader import LeaderLock
from scanner.stream.watchset import load_watch_set


@worker_init.connect
def _load_the_scan_path(**kwargs) -> None:
    """Import the chain fetcher and build the NYSE calendar in the worker's parent before the pool forks:
    otherwise the first scan of every new child process pays about half a second for them."""
    from scanner import chain_source  # noqa: F401

    is_session_open(timezone.now())


# Nobody waits on a scan's result (its Scan row is the record): storing none keeps a worker from
# blocking in the result backend while Redis is away. A caller that wants it passes ignore_result=False.
@shared_task(
    bind=True,
    name="scanner.tasks.scan_ticker",
    queue="scan",
    ignore_result=True,
    **retrying(TransientError, backoff=2, backoff_max=120, max_retries=10),
)
def scan_ticker(self, ticker: str, reason: str = "manual") -> dict:
    """Scan one ticker (reason: move | heartbeat | discovery | manual) and alert the users it concerns."""
    return scanning.scan_and_alert(ticker, reason, owner=self.request.id or "").as_dict()


@shared_task(name="scanner.tasks.requeue_abandoned_scans", queue="scan", ignore_result=True, **retrying())
def requeue_abandoned_scans() -> dict:
    """Every 20 seconds (beat): scans left running by a dead worker are closed and scanned again."""

    def enqueue(ticker: str, reason: str, task_id: str) -> None:
        scan_ticker.apply_async(args=[ticker, reason], task_id=task_id, ignore_result=True)

    requeued = abandoned.requeue_abandoned_scans(timezone.now(), enqueue)
    return {"requeued": len(requeued)}


HEARTBEAT_EVERY = timedelta(minutes=10)


@shared_task(name="scanner.tasks.stream_heartbeat", queue="scan", ignore_result=True, **retrying())
def stream_heartbeat() -> dict:
    """In a session, enqueue ``scan_ticker(t, "heartbeat")`` for watched tickers not scanned lately."""
    at = market_now()
    if not is_session_open(at):
        return {"enqueued": 0, "skipped": "market closed"}
    # Scans stamp last_scan_at with the wall clock, so staleness is judged on it too.
    due = stale_tickers(load_watch_set().symbols, timezone.now() - timedelta(minutes=settings.HEARTBEAT_STALE_MINUTES))
    with current_app.producer_or_acquire() as producer:
        for ticker in due:
            # Superseded by the next heartbeat if it waited that long in the queue.
            scan_ticker.apply_async(
                args=[ticker, "heartbeat"],
                expires=HEARTBEAT_EVERY.total_seconds(),
                producer=producer,
                ignore_result=True,
            )
    return {"enqueued": len(due)}


@shared_task(
    name="scanner.tasks.refresh_earnings",
    queue="scan",
    autoretry_for=(TransientError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def refresh_earnings(tickers: list[str] | None = None) -> dict:
    """Store the vendor's earnings dates of ``tickers`` (default: every watched ticker) for 120 days ahead."""
    symbols = tickers if tickers is not None else sorted(load_watch_set().symbols)
    return earnings.refresh_earnings(symbols).as_dict()


@shared_task(
    name="scanner.tasks.refresh_optionable_underlyings",
    queue="scan",
    ignore_result=True,
    **retrying(TransientError, backoff=30, backoff_max=600, max_retries=5),
)
def refresh_optionable_underlyings() -> dict:
    """The vendor's optionable underlyings into the table traders follow from (daily, by beat)."""
    return underlyings.refresh_from_vendor().as_dict()


PRUNE_LOCK_KEY = "ff:retention:lock"
PRUNE_LOCK_TTL_S = 30


@shared_task(name="scanner.tasks.prune_history", queue="scan", ignore_result=True, **retrying())
def prune_history() -> dict:
    """Hourly (beat): roll up and delete the scans and signals past SIGNAL_RETENTION_DAYS, for at most
    RETENTION_RUN_SECONDS (well inside the task's time limit); the next run goes on where this one stopped.

    One run at a time (a Redis lock whose lease is renewed while it works); batches of runs that overlap
    anyway, e.g. the ``prune_history`` command, still take turns at the database."""
    lock = LeaderLock(shared_redis(), PRUNE_LOCK_TTL_S, key=PRUNE_LOCK_KEY, identity="prune_history")
    if not lock.try_acquire():
        return {"skipped": f"another prune is running ({lock.holder()})"}
    try:
        with Heartbeat(lock.renew, PRUNE_LOCK_TTL_S / 3, f"lease {PRUNE_LOCK_KEY}"):
            report = retention.prune_history(timezone.now(), max_seconds=settings.RETENTION_RUN_SECONDS)
    finally:
        lock.release()
    return report.as_dict()
