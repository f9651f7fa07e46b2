"""The operator's alert actions: resend failed alerts, cancel held ones; nothing else is touched."""

import pytest
from django.core import mail
from django.urls import reverse

from alerts.models import Alert
from testing.factories import saved_signals, signal_dict, user

pytestmark = pytest.mark.django_db
Status = Alert.Status


@pytest.fixture
def alerts() -> dict[str, Alert]:
    """One alert to a follower of AAPL in each state."""
    follower = user("f@x.test", follows=("AAPL",), ff_threshold=0.2)
    (signal,) = saved_signals(signal_dict("AAPL", ff=0.31))
    return {
        status: Alert.objects.create(
            user=follower,
            signal=signal,
            kind=Alert.Kind.SUBSCRIPTION,
            status=status,
            ticker="AAPL",
            structure=signal.structure,
            pair=signal.pair,
            front_expiry=signal.front_expiry,
            back_expiry=signal.back_expiry,
            trading_day=signal.as_of.date(),
            ff_bucket=bucket,  # distinct, for the unique key
            ff=0.31,
            error="SMTP said no" if status == Status.FAILED else "",
        )
        for bucket, status in enumerate(Status.values)
    }


@pytest.fixture
def eager_celery():
    from forwardfactor.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def act(client, action: str, alerts) -> str:
    response = client.post(
        reverse("admin:alerts_alert_changelist"),
        {"action": action, "_selected_action": [a.pk for a in alerts]},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def statuses() -> dict[int, str]:
    return dict(Alert.objects.values_list("pk", "status"))


def test_resend_sends_only_the_failed_alerts_on_embedded_defaults(admin_client, alerts, eager_celery):
    # given an alert in every state, all selected
    before = statuses()
    # when the operator resends them
    message = act(admin_client, "resend_failed", alerts.values())
    # then only the failed one went out again, in the request; the others are as they were
    assert message == "Sent 1 failed alert(s) again: 1 went out."
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["f@x.test"]
    assert statuses() == {**before, alerts[Status.FAILED].pk: Status.SENT}


def test_resend_with_a_broker_queues_the_failed_alerts(admin_client, alerts, redis_client):
    # given Celery on a real broker and an alert in every state, all selected
    before = statuses()
    # when the operator resends them
    message = act(admin_client, "resend_failed", alerts.values())
    # then the failed one is pending again with one send task queued for it, and nothing was sent
    assert message == "Queued 1 failed alert(s) to send again."
    assert statuses() == {**before, alerts[Status.FAILED].pk: Status.PENDING}
    assert redis_client.llen("notify") == 1
    assert not mail.outbox


def test_cancel_cancels_only_held_alerts(admin_client, alerts):
    # given an alert in every state, all selected
    before = statuses()
    # when the operator cancels them
    message = act(admin_client, "cancel_held", alerts.values())
    # then only the held one is cancelled, with the reason
    assert message == "Cancelled 1 held alert(s)."
    assert statuses() == {**before, alerts[Status.HELD].pk: Status.CANCELLED}
    assert Alert.objects.get(pk=alerts[Status.HELD].pk).error == "cancelled by an operator"


def test_alerts_are_viewable_but_not_added_or_edited(admin_client, alerts):
    # given a failed alert
    failed = alerts[Status.FAILED]
    change = reverse("admin:alerts_alert_change", args=[failed.pk])
    # when an operator opens it, tries to add an alert and tries to edit this one
    page = admin_client.get(change)
    add = admin_client.get(reverse("admin:alerts_alert_add"))
    edit = admin_client.post(change, {"status": Status.SENT})
    # then it is shown; adding and editing are refused
    assert page.status_code == 200 and add.status_code == 403 and edit.status_code == 403
    assert Alert.objects.get(pk=failed.pk).status == Status.FAILED


def test_an_operator_without_the_change_permission_is_not_offered_the_actions(client, alerts):
    from django.contrib.auth.models import Permission

    from accounts.models import User

    # given staff who may only view alerts
    viewer = User.objects.create_user("viewer@x.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client.force_login(viewer)
    # when they open the alerts
    page = client.get(reverse("admin:alerts_alert_changelist")).content.decode()
    # then the state-changing actions are not there
    assert page.count("<tr") >= 2 and "resend_failed" not in page and "cancel_held" not in page
