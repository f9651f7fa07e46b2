"""A send task's claim on its messages is a lease: renewed while the task lives and across the wait for its
retry, released when it lapses (the task died), and the released messages go out once, Message-ID kept."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from alerts import outbox
from alerts.emails import send_message_batch
from alerts.models import Message
from alerts.tasks import _claim_kept, release_lapsed_sends
from testing.factories import AS_OF, signal_dict, user
from testing.polling import wait_for
from tests.alerts.test_no_spam import scan_at

LEASE = timedelta(seconds=30)


def pending_messages(*emails: str) -> list[int]:
    for email in emails:
        user(email, follows=("AAPL",))
    return sorted({alert.message_id for alert in scan_at(AS_OF, signal_dict(ff=0.3))})


def a_task(retries: int, max_retries: int = 8) -> SimpleNamespace:
    return SimpleNamespace(
        request=SimpleNamespace(retries=retries), max_retries=max_retries, retry_backoff=5, retry_backoff_max=300
    )


@pytest.mark.django_db
def test_the_messages_of_a_dead_send_task_are_released_once_its_lease_lapses(settings):
    # given two messages claimed by a task that then died (nothing renews its lease)
    settings.ALERT_SEND_LEASE_SECONDS = int(LEASE.total_seconds())
    ids = pending_messages("a@x.test", "b@x.test")
    claimed_at = timezone.now()
    assert outbox.claim_pending(ids, "dead-task") == ids
    # when the sweeper looks before the lease lapsed
    # then it leaves them with their task
    assert outbox.release_lapsed_claims(claimed_at + LEASE - timedelta(seconds=1)) == []
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENDING}
    # when it looks after
    released = outbox.release_lapsed_claims(claimed_at + LEASE + timedelta(seconds=1))
    # then both are pending again, free for any task, and returned for re-enqueueing
    assert released == ids
    assert set(Message.objects.values_list("status", "claimed_by", "lease_until")) == {
        (Message.Status.PENDING, "", None)
    }


@pytest.mark.django_db
def test_a_released_message_is_sent_once_with_its_message_id_and_an_accepted_one_is_not_resent(
    smtp_sink, settings, shared_state_reset
):
    # given two messages of a task killed after the SMTP server accepted the first (its receipt kept)
    from alerts import receipts

    settings.ALERT_SEND_LEASE_SECONDS = int(LEASE.total_seconds())
    first, second = pending_messages("a@x.test", "b@x.test")
    outbox.claim_pending([first, second], "dead-task")
    receipts.remember_accepted([Message.objects.get(pk=first).message_id])
    # when the lease lapses and the released messages are sent by a new task
    released = outbox.release_lapsed_claims(timezone.now() + LEASE + timedelta(seconds=1))
    report = send_message_batch(released, "new-task")
    # then only the second goes out, under the Message-ID it was created with; both end sent
    assert (report.sent, smtp_sink.accepted) == (2, 1)
    (email,) = smtp_sink.messages
    assert email.message()["Message-ID"] == Message.objects.get(pk=second).message_id
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


@pytest.mark.django_db
def test_a_digest_message_released_goes_back_to_waiting_for_its_digest(settings):
    # given a message held for the digest, claimed by a digest task that died
    settings.ALERT_SEND_LEASE_SECONDS = int(LEASE.total_seconds())
    (message_id,) = pending_messages("a@x.test")
    Message.objects.filter(pk=message_id).update(status=Message.Status.HELD, send_after=AS_OF)
    outbox.claim_due_held([Message.objects.get().user_id], "dead-digest", timezone.now())
    # when its lease lapses
    released = outbox.release_lapsed_claims(timezone.now() + LEASE + timedelta(seconds=1))
    # then it is held again (the next digest run sends it), not queued as a message of its own
    assert released == []
    assert Message.objects.get().status == Message.Status.HELD


@pytest.mark.django_db
def test_a_claim_from_before_leases_lapses_after_the_old_lease_minutes(settings):
    # given a message claimed by a task of the previous release (no lease recorded)
    ids = pending_messages("a@x.test")
    claimed_at = timezone.now()
    Message.objects.filter(pk__in=ids).update(
        status=Message.Status.SENDING, claimed_by="old", claimed_at=claimed_at, lease_until=None
    )
    old_lease = timedelta(minutes=settings.ALERT_SEND_LEASE_MINUTES)
    # then it is released only once ALERT_SEND_LEASE_MINUTES passed
    assert outbox.release_lapsed_claims(claimed_at + old_lease - timedelta(seconds=1)) == []
    assert outbox.release_lapsed_claims(claimed_at + old_lease + timedelta(seconds=1)) == ids


@pytest.mark.django_db(transaction=True)
def test_a_live_send_task_keeps_renewing_its_lease(settings):
    # given a lease of 3 seconds and a task holding two messages
    settings.ALERT_SEND_LEASE_SECONDS = 3
    ids = pending_messages("a@x.test", "b@x.test")
    with _claim_kept(a_task(retries=0), "live-task"):
        outbox.claim_pending(ids, "live-task")
        first_lease = max(Message.objects.values_list("lease_until", flat=True))
        # when it works on for longer than one lease
        wait_for(
            lambda: min(Message.objects.values_list("lease_until", flat=True)) > first_lease + timedelta(seconds=2),
            10,
            "the heartbeat to renew the lease",
        )
        # then the sweeper finds nothing to release
        assert outbox.release_lapsed_claims(timezone.now()) == []
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENDING}


@pytest.mark.django_db
def test_a_task_waiting_for_its_retry_holds_its_messages_past_the_longest_countdown(settings):
    # given a send task on its fourth attempt (backoff 5 s doubling: the next countdown is at most 40 s)
    settings.ALERT_SEND_LEASE_SECONDS = int(LEASE.total_seconds())
    ids = pending_messages("a@x.test")
    failed_at = timezone.now()
    # when SMTP fails and the task goes to wait for its retry
    with pytest.raises(smtplib.SMTPServerDisconnected), _claim_kept(a_task(retries=3), "waiting-task"):
        outbox.claim_pending(ids, "waiting-task")
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
    # then its claim holds past the longest countdown plus a lease, and no sweep before then releases it
    (lease_until,) = Message.objects.values_list("lease_until", flat=True)
    assert lease_until >= failed_at + timedelta(seconds=40) + LEASE
    assert outbox.release_lapsed_claims(failed_at + timedelta(seconds=40)) == []


@pytest.mark.django_db
def test_a_task_on_its_last_attempt_fails_its_messages_instead(settings):
    ids = pending_messages("a@x.test")
    with pytest.raises(smtplib.SMTPServerDisconnected), _claim_kept(a_task(retries=8), "last-try"):
        outbox.claim_pending(ids, "last-try")
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
    assert Message.objects.get().status == Message.Status.FAILED


@pytest.mark.django_db
def test_the_sweeper_task_requeues_the_released_messages(settings, smtp_sink, eager_celery):
    # given a dead task's message whose lease lapsed
    settings.ALERT_SEND_LEASE_SECONDS = int(LEASE.total_seconds())
    ids = pending_messages("a@x.test")
    outbox.claim_pending(ids, "dead-task")
    Message.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    # when the beat task runs (eagerly here: the send task it queues runs at once)
    result = release_lapsed_sends.apply().get()
    # then the message was queued again and sent once
    assert result == {"requeued": 1}
    assert smtp_sink.accepted == 1 and Message.objects.get().status == Message.Status.SENT


@pytest.mark.django_db
def test_a_pending_message_whose_send_task_was_lost_is_queued_again_once_a_while(settings):
    # given a pending message whose send task was queued (and then lost by the broker) at t0
    settings.ALERT_PENDING_REQUEUE_SECONDS = 60
    wait = timedelta(seconds=60)
    (message_id,) = pending_messages("a@x.test")
    queued_at = timezone.now()
    Message.objects.update(created_at=queued_at - timedelta(seconds=5))
    outbox.mark_queued([message_id], queued_at)
    # when the sweeper looks before the wait passed, then it is left to its task
    assert outbox.lost_pending(queued_at + wait - timedelta(seconds=1)) == []
    # when it looks after, then it is lost and returned for queueing again
    assert outbox.lost_pending(queued_at + wait + timedelta(seconds=1)) == [message_id]
    # when it is queued again, then it waits another while before the next attempt
    outbox.mark_queued([message_id], queued_at + wait + timedelta(seconds=1))
    assert outbox.lost_pending(queued_at + wait + timedelta(seconds=2)) == []
    # and a message already claimed by a send task is never queued again by this rule
    outbox.claim_pending([message_id], "live-task")
    assert outbox.lost_pending(queued_at + 10 * wait) == []


@pytest.mark.django_db
def test_the_sweeper_task_requeues_a_lost_pending_message_and_it_is_sent_once(settings, smtp_sink, eager_celery):
    # given a pending message whose send task never reached a worker
    settings.ALERT_PENDING_REQUEUE_SECONDS = 60
    pending_messages("a@x.test")
    long_ago = timezone.now() - timedelta(seconds=61)
    Message.objects.update(created_at=long_ago, queued_at=long_ago)
    # when the 20-second sweeper runs (eagerly: the send task it queues runs at once)
    result = release_lapsed_sends.apply().get()
    # then the message was queued again and sent once
    assert result == {"requeued": 1}
    assert smtp_sink.accepted == 1 and Message.objects.get().status == Message.Status.SENT
    assert release_lapsed_sends.apply().get() == {"requeued": 0}
