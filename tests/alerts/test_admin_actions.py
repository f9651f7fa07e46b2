"""The operator's message actions: resend failed messages, cancel held ones; nothing else is touched."""

import pytest
from django.core import mail
from django.urls import reverse

from alerts.models import Alert, Message
from testing.factories import delivered, saved_signals, signal_dict, user

pytestmark = pytest.mark.django_db
Status = Message.Status


@pytest.fixture
def messages() -> dict[str, Message]:
    """One message to a follower of AAPL in each state, each of a scan of its own (one message per user and scan)."""
    follower = user("f@x.test", follows=("AAPL",), ff_threshold=0.2)
    return {
        status: delivered(follower, saved_signals(signal_dict("AAPL", ff=0.31))[0], status, ff_bucket=bucket)
        for bucket, status in enumerate(Status.values)
    }


def act(client, action: str, messages) -> str:
    response = client.post(
        reverse("admin:alerts_message_changelist"),
        {"action": action, "_selected_action": [m.pk for m in messages]},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def statuses() -> dict[int, str]:
    return dict(Message.objects.values_list("pk", "status"))


def test_resend_sends_only_the_failed_alerts_on_embedded_defaults(admin_client, messages, eager_celery):
    # given an alert in every state, all selected
    before = statuses()
    # when the operator resends them
    message = act(admin_client, "resend_failed", messages.values())
    # then only the failed one went out again, in the request; the others are as they were
    assert message == "Sent 1 failed message(s) again: 1 went out."
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["f@x.test"]
    assert statuses() == {**before, messages[Status.FAILED].pk: Status.SENT}


def test_resend_with_a_broker_queues_the_failed_alerts(admin_client, messages, redis_client):
    # given Celery on a real broker and an alert in every state, all selected
    before = statuses()
    # when the operator resends them
    message = act(admin_client, "resend_failed", messages.values())
    # then the failed one is pending again with one send task queued for it, and nothing was sent
    assert message == "Queued 1 failed message(s) to send again."
    assert statuses() == {**before, messages[Status.FAILED].pk: Status.PENDING}
    assert redis_client.llen("notify") == 1
    assert not mail.outbox


def test_cancel_cancels_only_held_alerts(admin_client, messages):
    # given an alert in every state, all selected
    before = statuses()
    # when the operator cancels them
    message = act(admin_client, "cancel_held", messages.values())
    # then only the held one is cancelled, with the reason
    assert message == "Cancelled 1 held message(s)."
    assert statuses() == {**before, messages[Status.HELD].pk: Status.CANCELLED}
    assert Message.objects.get(pk=messages[Status.HELD].pk).error == "cancelled by an operator"


def test_messages_are_viewable_but_not_added_or_edited(admin_client, messages):
    # given a failed message
    failed = messages[Status.FAILED]
    change = reverse("admin:alerts_message_change", args=[failed.pk])
    # when an operator opens it (its alerts inline), tries to add a message and tries to edit this one
    page = admin_client.get(change)
    add = admin_client.get(reverse("admin:alerts_message_add"))
    edit = admin_client.post(change, {"status": Status.SENT})
    # then it is shown with its alert; adding and editing are refused
    assert page.status_code == 200 and add.status_code == 403 and edit.status_code == 403
    assert "30-60" in page.content.decode()
    assert Message.objects.get(pk=failed.pk).status == Status.FAILED


def test_an_alert_shows_its_messages_delivery(admin_client, messages):
    alert = Alert.objects.get(message=messages[Status.FAILED])
    page = admin_client.get(reverse("admin:alerts_alert_changelist")).content.decode()
    assert admin_client.get(reverse("admin:alerts_alert_change", args=[alert.pk])).status_code == 200
    assert page.count(Status.FAILED) >= 1


def test_an_operator_without_the_change_permission_is_not_offered_the_actions(client, messages):
    from django.contrib.auth.models import Permission

    from accounts.models import User

    # given staff who may only view messages
    viewer = User.objects.create_user("viewer@x.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    # when they open the messages
    page = client.get(reverse("admin:alerts_message_changelist")).content.decode()
    # then the state-changing actions are not there
    assert page.count("<tr") >= 2 and "resend_failed" not in page and "cancel_held" not in page
