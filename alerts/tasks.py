"""Celery tasks that deliver messages. Thin: they take ids, call the outbox and the mailer, report a dict.

Messages are claimed by the send task's id, so a task run twice sends each message once. The older
task names keep the ``scanner.tasks.`` prefix they had before alerts became an app of their own: beat
entries in the database and tasks already queued carry those names. ``scanner.tasks.send_alerts``
(alert ids, queued before messages existed) sends the messages that carry those alerts.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

from alerts import emails, outbox
from forwardfactor.heartbeat import Heartbeat
from forwardfactor.task_retry import retrying

SMTP_RETRYABLE = (smtplib.SMTPException, OSError)
# Sending tasks: SMTP trouble is retried with backoff and jitter (the last failure is recorded), and
# nobody waits on their result: the messages' states are the record.
SMTP_TASK = dict(
    bind=True,
    queue="notify",
    ignore_result=True,
    **retrying(*SMTP_RETRYABLE, backoff=5, backoff_max=300, max_retries=8),
)


@shared_task(name="alerts.send_messages", **SMTP_TASK)
def send_messages(self, message_ids: list[int]) -> dict:
    """Send up to ALERT_BATCH_SIZE messages over one SMTP connection."""
    token = self.request.id
    with _claim_kept(self, token):
        return emails.send_message_batch(message_ids, token).as_dict()


@shared_task(name="scanner.tasks.send_alerts", **SMTP_TASK)
def send_alerts(self, alert_ids: list[int]) -> dict:
    """Tasks queued before the upgrade: send the messages that carry these alerts."""
    token = self.request.id
    with _claim_kept(self, token):
        return emails.send_message_batch(outbox.message_ids_of_alerts(alert_ids), token).as_dict()


@shared_task(name="scanner.tasks.send_digests", **SMTP_TASK)
def send_digests(self, user_ids: list[int]) -> dict:
    """One digest email per user of their held messages that are due, over one SMTP connection."""
    token = self.request.id
    with _claim_kept(self, token):
        return emails.send_digest_batch(user_ids, token, timezone.now()).as_dict()


@shared_task(name="alerts.release_lapsed_sends", queue="notify", ignore_result=True, **retrying())
def release_lapsed_sends() -> dict:
    """Every 20 seconds (beat): messages whose send task died or was lost are queued again."""
    return {"requeued": _requeue_lost(timezone.now())}


@shared_task(name="scanner.tasks.flush_held_alerts", queue="notify", ignore_result=True, **retrying())
def flush_held_alerts() -> dict:
    """Every minute (beat): digests whose time has come, and messages whose send task was lost."""
    now = timezone.now()
    requeued = _requeue_lost(now)
    users = outbox.users_with_due_digests(now)
    size = settings.ALERT_BATCH_SIZE
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(users), size):
            send_digests.apply_async(args=[users[start : start + size]], producer=producer)
    return {"digests": len(users), "requeued": requeued}


def _requeue_lost(now) -> int:
    """Queue again the messages of a send task that died (lapsed claim) or was lost (still pending)."""
    lost = sorted(set(outbox.release_lapsed_claims(now) + outbox.lost_pending(now)))
    enqueue_message_batches(lost, again=True)
    return len(lost)


def enqueue_message_batches(message_ids: Sequence[int], again: bool = False) -> int:
    """One send_messages task per ALERT_BATCH_SIZE messages, on one broker connection; the number of tasks.

    No chords: a lost batch loses nothing else. ``again``: messages queued before (the sweeper, a resend),
    stamped so the sweeper leaves them to their new task for ALERT_PENDING_REQUEUE_SECONDS."""
    ids = list(message_ids)
    size = settings.ALERT_BATCH_SIZE
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    if not batches:
        return 0
    if again:
        # Stamped before publishing, so the send tasks' claims do not wait on this update's row locks (a
        # publish that fails raises to the caller). A scan's first queueing needs no stamp: its messages
        # were created just before, and their creation time stands for it (an update of every message of
        # a 10,000-user fan-out would cost as much as a tenth of sending them).
        outbox.mark_queued(ids, timezone.now())
    with current_app.producer_or_acquire() as producer:
        for batch in batches:
            send_messages.apply_async(args=[batch], producer=producer)
    return len(batches)


@contextmanager
def _claim_kept(task, token: str) -> Iterator[None]:
    """Keep the task's claim on its messages alive while it runs and across the wait for its retry.

    A heartbeat renews the lease every third of ALERT_SEND_LEASE_SECONDS, so the lease lapses only when
    the worker died. A retryable failure extends the lease past the longest countdown Celery may choose
    for the retry (full jitter: anything up to the backoff); on the last allowed attempt it fails the
    messages instead.
    """
    lease = outbox.send_lease()
    with Heartbeat(lambda: outbox.renew_claim(token, timezone.now() + lease), lease.total_seconds() / 3, "send lease"):
        try:
            yield
        except SMTP_RETRYABLE as exc:
            if task.request.retries >= task.max_retries:
                attempts = task.request.retries + 1
                outbox.fail_held(token, f"gave up after {attempts} attempts: {type(exc).__name__}: {exc}")
            else:
                outbox.renew_claim(token, timezone.now() + _longest_countdown(task) + lease)
            raise


def _longest_countdown(task) -> timedelta:
    """The upper bound of the countdown autoretry picks for this retry (exponential, capped, jittered down)."""
    seconds = min(task.retry_backoff_max, task.retry_backoff * 2**task.request.retries)
    return timedelta(seconds=seconds)
