"""Celery tasks of the scan pipeline. Thin: they take ids and tickers, call a service, report a dict.

Every task is idempotent (DESIGN.md §5): scans are single-flight per ticker and continue their own
Scan row when retried or redelivered; alerts are claimed by the send task's id, so a task run twice
sends each alert once.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from celery import current_app, shared_task
from celery.signals import worker_init
from django.conf import settings
from django.utils import timezone

from scanner import alerting, emailing, scanning
from scanner.polygon.errors import TransientError

SMTP_RETRYABLE = (smtplib.SMTPException, OSError)
# Sending tasks: SMTP trouble is retried with backoff and jitter (the last failure is recorded), and
# nobody waits on their result: the alerts' states are the record.
SMTP_TASK = dict(bind=True, ignore_result=True, autoretry_for=SMTP_RETRYABLE, retry_backoff=5, retry_backoff_max=300,
                 retry_jitter=True, max_retries=8)


@worker_init.connect
def _load_the_scan_path(**kwargs) -> None:
    """Import the chain fetcher and build the NYSE calendar in the worker's parent before the pool forks:
    otherwise the first scan of every new child process pays about half a second for them."""
    from scanner import chain_source  # noqa: F401
    from scanner.market_clock import is_session_open

    is_session_open(timezone.now())


@shared_task(
    bind=True,
    name="scanner.tasks.scan_ticker",
    autoretry_for=(TransientError,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def scan_ticker(self, ticker: str, reason: str = "manual") -> dict:
    """Scan one ticker (reason: move | heartbeat | discovery | manual) and alert the users it concerns."""
    return scanning.scan_and_alert(ticker, reason, owner=self.request.id or "").as_dict()


@shared_task(name="scanner.tasks.send_alerts", **SMTP_TASK)
def send_alerts(self, alert_ids: list[int]) -> dict:
    """Send up to ALERT_BATCH_SIZE alert emails over one SMTP connection."""
    token = self.request.id
    with _final_failure_recorded(self, token):
        return emailing.send_alert_batch(alert_ids, token).as_dict()


@shared_task(name="scanner.tasks.send_digests", **SMTP_TASK)
def send_digests(self, user_ids: list[int]) -> dict:
    """One digest email per user of their held alerts that are due, over one SMTP connection."""
    token = self.request.id
    with _final_failure_recorded(self, token):
        return emailing.send_digest_batch(user_ids, token, timezone.now()).as_dict()


@shared_task(name="scanner.tasks.flush_held_alerts")
def flush_held_alerts() -> dict:
    """Every minute (beat): digests whose time has come, and alerts whose send task was lost."""
    now = timezone.now()
    stale = alerting.release_stale(now)
    enqueue_alert_batches(stale)
    users = alerting.users_with_due_digests(now)
    size = settings.ALERT_BATCH_SIZE
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(users), size):
            send_digests.apply_async(args=[users[start : start + size]], producer=producer)
    return {"digests": len(users), "requeued": len(stale)}


def enqueue_alert_batches(alert_ids: Sequence[int]) -> int:
    """One send_alerts task per ALERT_BATCH_SIZE alerts, on one broker connection; the number of tasks."""
    ids = list(alert_ids)
    size = settings.ALERT_BATCH_SIZE
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    if not batches:
        return 0
    with current_app.producer_or_acquire() as producer:
        for batch in batches:
            send_alerts.apply_async(args=[batch], producer=producer)
    return len(batches)


@contextmanager
def _final_failure_recorded(task, token: str) -> Iterator[None]:
    """On the last allowed attempt, a retryable SMTP failure fails the alerts the task still holds."""
    try:
        yield
    except SMTP_RETRYABLE as exc:
        if task.request.retries >= task.max_retries:
            attempts = task.request.retries + 1
            alerting.fail_held(token, f"gave up after {attempts} attempts: {type(exc).__name__}: {exc}")
        raise


# --- discovery universe (issue 6): the daily refresh and the sweep that scans its members --------


@shared_task(
    name="scanner.tasks.refresh_universe",
    autoretry_for=(TransientError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
    # Options checks of a cold cache go through the fleet's rate limit: allow minutes, not seconds.
    soft_time_limit=300,
    time_limit=360,
)
def refresh_universe(day: str | None = None, size: int | None = None) -> dict:
    """Build the discovery universe of the last session on or before ``day`` (default: the last completed one)."""
    from datetime import date

    from scanner import universe

    outcome = universe.refresh_universe(day=date.fromisoformat(day) if day else None, size=size)
    return {
        "date": outcome.session_date.isoformat() if outcome.session_date else None,
        "members": len(outcome.members),
        "kept_previous": outcome.kept_previous,
        "message": outcome.message,
    }


@shared_task(name="scanner.tasks.discovery_sweep")
def discovery_sweep() -> dict:
    """In a session, enqueue a discovery scan for every universe member not scanned within the sweep interval."""
    from scanner import universe
    from scanner.market_clock import is_session_open, market_now, trading_day

    at = market_now()
    if not is_session_open(at):
        return {"enqueued": 0, "skipped": "market closed"}
    interval = timedelta(minutes=settings.DISCOVERY_SWEEP_MINUTES)
    # Scans stamp last_scan_at with the wall clock. 90% of the interval: the previous sweep's scans
    # finish shortly after it started and must still count as due.
    due = universe.tickers_due_for_discovery(trading_day(at), timezone.now() - interval * 0.9)
    with current_app.producer_or_acquire() as producer:
        for ticker in due:
            # A scan still queued when the next sweep comes is superseded by that sweep's.
            scan_ticker.apply_async(args=[ticker, "discovery"], expires=interval.total_seconds(), producer=producer,
                                    ignore_result=True)
    return {"enqueued": len(due), "day": trading_day(at).isoformat()}


# --- stream fallback (issue 7): rescan watched tickers the stream has not triggered lately ------

HEARTBEAT_EVERY = timedelta(minutes=10)


@shared_task(name="scanner.tasks.stream_heartbeat")
def stream_heartbeat() -> dict:
    """In a session, enqueue ``scan_ticker(t, "heartbeat")`` for watched tickers not scanned lately."""
    from scanner.market_clock import is_session_open, market_now
    from scanner.stream.heartbeat import stale_tickers
    from scanner.stream.watchset import load_watch_set

    at = market_now()
    if not is_session_open(at):
        return {"enqueued": 0, "skipped": "market closed"}
    # Scans stamp last_scan_at with the wall clock, so staleness is judged on it too.
    due = stale_tickers(load_watch_set().symbols, timezone.now() - timedelta(minutes=settings.HEARTBEAT_STALE_MINUTES))
    with current_app.producer_or_acquire() as producer:
        for ticker in due:
            # Superseded by the next heartbeat if it waited that long in the queue.
            scan_ticker.apply_async(args=[ticker, "heartbeat"], expires=HEARTBEAT_EVERY.total_seconds(),
                                    producer=producer, ignore_result=True)
    return {"enqueued": len(due)}
