"""One message per user and scan: the database holds it, and a second attempt of a scan (or a message
stored meanwhile by another transaction) joins that message instead of failing or adding a second."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from alerts import outbox, routing
from alerts.models import Alert, Message
from alerts.service import alert_signals
from market.clock import trading_day
from scanner.models import Signal
from scanner.scanning import signal_row
from testing.factories import AS_OF, saved_signals, signal_dict, user

pytestmark = pytest.mark.django_db


def message_of(person, scan_id: int, **fields) -> Message:
    return Message.objects.create(
        user=person, ticker="AAPL", scan_id=scan_id, trading_day=AS_OF.date(), **{"kind": "subscription", **fields}
    )


def test_the_database_refuses_a_second_message_for_one_user_and_scan():
    # given a message to a user about a scan
    person, other = user("f@x.test", follows=("AAPL",)), user("o@x.test", follows=("AAPL",))
    scan_id = saved_signals(signal_dict())[0].scan_id
    message_of(person, scan_id)
    # when a second one for the same user and scan is stored, of either kind
    # then the database refuses it
    for kind in Message.Kind.values:
        with pytest.raises(IntegrityError), transaction.atomic():
            message_of(person, scan_id, kind=kind)
    # and another user's message of that scan, or the user's of another scan, is stored
    message_of(other, scan_id)
    message_of(person, saved_signals(signal_dict())[0].scan_id)
    # and so are the messages made one per alert from the alerts of before messages (alerts 0002)
    message_of(person, scan_id, message_id="<alert-1.20240315143000000000@ff.example>")
    message_of(person, scan_id, message_id="<alert-2.20240315143000000000@ff.example>")
    assert Message.objects.filter(user=person, scan_id=scan_id).count() == 3


def again_in(scan_id: int, *signals: dict) -> list[Signal]:
    """More signals of the same scan, as a second attempt of it stores them."""
    from scanner.models import Scan

    scan = Scan.objects.get(pk=scan_id)
    return Signal.objects.bulk_create([signal_row(scan, s) for s in signals])


def test_a_second_attempt_of_a_scan_adds_its_alerts_to_the_message_still_waiting():
    # given a follower without cooldown alerted by a scan whose message waits to be sent
    person = user("f@x.test", follows=("AAPL",), cooldown_minutes=0)
    first = saved_signals(signal_dict(ff=0.30))
    (planned,) = alert_signals("AAPL", first, first[0].scan_id, now=AS_OF)
    # when a second attempt of the same scan stores a new level of it
    again = again_in(first[0].scan_id, signal_dict(ff=0.40))
    (joined,) = alert_signals("AAPL", again, first[0].scan_id, now=AS_OF + timedelta(minutes=1))
    # then its alert joins the same message, which still holds one place under the daily cap
    assert joined.message.pk == planned.message.pk
    assert Message.objects.filter(user=person).count() == 1
    assert sorted(Alert.objects.filter(message=planned.message).values_list("ff", flat=True)) == [0.30, 0.40]


def test_a_second_attempt_of_a_scan_whose_message_went_out_adds_nothing():
    user("f@x.test", follows=("AAPL",), cooldown_minutes=0)
    first = saved_signals(signal_dict(ff=0.30))
    (planned,) = alert_signals("AAPL", first, first[0].scan_id, now=AS_OF)
    Message.objects.filter(pk=planned.message.pk).update(status=Message.Status.SENT)
    again = again_in(first[0].scan_id, signal_dict(ff=0.40))
    assert alert_signals("AAPL", again, first[0].scan_id, now=AS_OF + timedelta(minutes=1)) == []
    assert Message.objects.count() == 1 and Alert.objects.count() == 1


def test_a_message_another_transaction_stored_meanwhile_is_reused_not_a_failure():
    # given a scan planned for a follower (the plan read no message of this scan)
    person = user("f@x.test", follows=("AAPL",))
    signals = saved_signals(signal_dict(pair="30-60", ff=0.30), signal_dict(pair="30-90", ff=0.40))
    scan_id = signals[0].scan_id
    recipients = routing.candidate_recipients("AAPL", trading_day(AS_OF))
    routed = routing.route_signals([s.data for s in signals], recipients)
    history = outbox.load_history("AAPL", trading_day(AS_OF), recipients, AS_OF, scan_id)
    (plan,) = outbox.plan_messages(signals, routed, history, AS_OF)
    # when another transaction stores this user's message of the scan before the plan is saved
    stored = message_of(person, scan_id)
    with transaction.atomic():
        outbox.save_messages([plan])
        # then the plan's alerts join the stored message, and the transaction carries on
        assert Message.objects.filter(user=person).count() == 1
    assert plan.message.pk == stored.pk
    assert list(stored.alerts.order_by("-ff_judged").values_list("pair", flat=True)) == ["30-90", "30-60"]
