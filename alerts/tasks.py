"""Celery tasks that deliver alerts. Thin: they take ids, call the outbox and the mailer, report a dict.

Alerts are claimed by the send task's id, so a task run twice sends each alert once. Task names
keep the ``scanner.tasks.`` prefix they had before alerts became an app of their own: beat entries in
the database and messages already queued carry those names.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

from alerts import emails, outbox
from forwardfactor.task_retry import retrying

SMTP_RETRYABLE = (smtplib.SMTPException, OSError)
# Sending tasks: SMTP trouble is retried with backoff and jitter (the last failure is recorded), and
# nobody waits on their result: the alerts' states are the record.
SMTP_TASK = dict(
    bind=True,
    queue="notify",
    ignore_result=True,
    **retrying(*SMTP_RETRYABLE, backoff=5, backoff_max=300, max_retries=8),
)


@shared_task(name="scanner.tasks.send_alerts", **SMTP_TASK)
def send_alerts(self, alert_ids: list[int]) -> dict:
    """Send up to ALERT_BATCH_SIZE alert emails over one SMTP connection."""
    token = self.request.id
    with _final_failure_recorded(self, token):
        return emails.send_alert_batch(alert_ids, token).as_dict()


@shared_task(name="scanner.tasks.send_digests", **SMTP_TASK)
def send_digests(self, user_ids: list[int]) -> dict:
    """One digest email per user of their held alerts that are due, over one SMTP connection."""
    token = self.request.id
    with _final_failure_recorded(self, token):
        return emails.send_digest_batch(user_ids, token, timezone.now()).as_dict()


@shared_task(name="scanner.tasks.flush_held_alerts", queue="notify", ignore_result=True, **retrying())
def flush_held_alerts() -> dict:
    """Every minute (beat): digests whose time has come, and alerts whose send task was lost."""
    now = timezone.now()
    stale = outbox.release_stale(now)
    enqueue_alert_batches(stale)
    users = outbox.users_with_due_digests(now)
    size = settings.ALERT_BATCH_SIZE
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(users), size):
            send_digests.apply_async(args=[users[start : start + size]], producer=producer)
    return {"digests": len(users), "requeued": len(stale)}


def enqueue_alert_batches(alert_ids: Sequence[int]) -> int:
    """One send_alerts task per ALERT_BATCH_SIZE alerts, on one broker connection; the number of tasks.

    No chords: a lost batch loses nothing else."""
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
            outbox.fail_held(token, f"gave up after {attempts} attempts: {type(exc).__name__}: {exc}")
        raise
