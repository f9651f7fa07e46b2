from __future__ import annotations

import smtplib
from datetime import date, timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.models import Subscription, User
from alerts.emails import (
    UnsubscribeScope,
    send_alert_batch,
    send_digest_batch,
    unsubscribe_token,
)
from alerts.models import Alert
from testing.factories import AS_OF, signal_dict, universe, user
from tests.alerts.test_no_spam import scan_at

pytestmark = pytest.mark.django_db


def unsubscribe_link(message) -> str:
    return message["List-Unsubscribe"].strip().strip("<>")


def test_alert_email_is_multipart_with_both_unsubscribe_headers(smtp_sink):
    # given a follower's pending alert
    user("f@x.test", follows=("AAPL",), ff_threshold=0.2)
    (alert,) = scan_at(AS_OF, signal_dict("AAPL", ff=0.31))
    # when the batch is sent over SMTP
    report = send_alert_batch([alert.pk], "task-1")
    # then one multipart/alternative message with text and HTML, and RFC 8058 headers
    assert report.sent == 1 and smtp_sink.wait_for(1)
    (received,) = smtp_sink.messages
    message = received.message()
    assert received.rcpt_tos == ["f@x.test"]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert unsubscribe_link(message).startswith("https://ff.example/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "AAPL FF 0.31 reached your 0.20: 30-60 ATM call calendar"
    text = message.get_body(("plain",)).get_content()
    assert "You follow AAPL" in text and "forward 20.6%" in text and "OI 500" in text
    assert unsubscribe_link(message) in text
    assert Alert.objects.get().status == Alert.Status.SENT


def test_discovery_email_says_the_name_is_not_on_the_list(smtp_sink):
    universe(date(2025, 3, 3), "XYZ")
    user("e@x.test", discovery=True, discovery_threshold=0.25)
    (alert,) = scan_at(AS_OF, signal_dict("XYZ", structure="double_calendar", ff=0.33))
    send_alert_batch([alert.pk], "task-1")
    message = smtp_sink.messages[0].message()
    assert message["Subject"] == "Discovery: XYZ is not on your list, FF 0.33 (30-60 double calendar)"
    assert "95.00 put" in message.get_body(("html",)).get_content()


def test_the_same_batch_sent_twice_sends_once(smtp_sink):
    # given three pending alerts
    for i in range(3):
        user(f"f{i}@x.test", follows=("AAPL",))
    ids = [a.pk for a in scan_at(AS_OF, signal_dict(ff=0.3))]
    # when the batch runs, then again under the same id (a redelivery) and under another id (a duplicate)
    first = send_alert_batch(ids, "task-1")
    again = send_alert_batch(ids, "task-1")
    duplicate = send_alert_batch(ids, "task-2")
    # then three emails in all
    assert (first.sent, again.sent, duplicate.sent) == (3, 0, 0)
    assert smtp_sink.accepted == 3


def test_transient_smtp_failure_is_recorded_and_the_retry_sends_the_rest(smtp_sink):
    # given two alerts and a server that answers the second DATA with 451
    user("a@x.test", follows=("AAPL",))
    user("b@x.test", follows=("AAPL",))
    ids = [a.pk for a in scan_at(AS_OF, signal_dict(ff=0.3))]
    send_alert_batch(ids[:1], "warm-up")  # the first goes through
    smtp_sink.fail_next(1)
    # when the batch with the remaining alert fails transiently
    with pytest.raises(smtplib.SMTPDataError):
        send_alert_batch(ids[1:], "task-1")
    failed = Alert.objects.get(pk=ids[1])
    # then the error is recorded and the alert stays claimed for the retry
    assert failed.status == Alert.Status.SENDING and "451" in failed.error
    # when the task retries under its id
    assert send_alert_batch(ids[1:], "task-1").sent == 1
    # then
    assert smtp_sink.accepted == 2
    assert set(Alert.objects.values_list("status", flat=True)) == {Alert.Status.SENT}


def test_a_refused_recipient_fails_only_its_alert(smtp_sink):
    user("gone@x.test", follows=("AAPL",))
    user("here@x.test", follows=("AAPL",))
    smtp_sink.refuse("gone@x.test")
    ids = [a.pk for a in scan_at(AS_OF, signal_dict(ff=0.3))]
    report = send_alert_batch(ids, "task-1")
    assert (report.sent, report.failed) == (1, 1)
    assert Alert.objects.get(user__email="gone@x.test").status == Alert.Status.FAILED
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["here@x.test"]]


def test_an_alert_of_a_ticker_unfollowed_before_sending_is_cancelled(smtp_sink):
    person = user("f@x.test", follows=("AAPL",))
    (alert,) = scan_at(AS_OF, signal_dict(ff=0.3))
    Subscription.objects.filter(user=person).delete()
    report = send_alert_batch([alert.pk], "task-1")
    assert report.cancelled == 1 and smtp_sink.accepted == 0
    assert Alert.objects.get().status == Alert.Status.CANCELLED


def test_quiet_hours_produce_one_digest(smtp_sink):
    # given quiet hours covering AS_OF (16:00 UTC = 11:00 New York) and a scan with two signals
    from datetime import time

    user("f@x.test", follows=("AAPL",), quiet_hours_start=time(10), quiet_hours_end=time(12))
    held = scan_at(AS_OF, signal_dict(pair="30-60", ff=0.3), signal_dict(pair="60-90", ff=0.4))
    assert {a.status for a in held} == {Alert.Status.HELD}
    # when digests are flushed before quiet hours end
    assert send_digest_batch([held[0].user_id], "early", AS_OF).sent == 0
    # and after they end (12:00 New York)
    report = send_digest_batch([held[0].user_id], "flush", AS_OF + timedelta(hours=1, minutes=1))
    # then one email carries both alerts, strongest first
    assert report.sent == 2 and smtp_sink.accepted == 1
    message = smtp_sink.messages[0].message()
    assert message["Subject"] == "Forward Factor digest: 2 alerts (AAPL)"
    text = message.get_body(("plain",)).get_content()
    assert text.index("60-90") < text.index("30-60")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- unsubscribe -------------------------------------------------------------------------------


def test_unsubscribe_post_works_without_a_session_or_csrf_token():
    # given a follower of two tickers and the link of an AAPL alert
    person = user("f@x.test", follows=("AAPL", "MSFT"), discovery=True)
    url = reverse("alerts:unsubscribe", args=[unsubscribe_token(UnsubscribeScope(person.pk, ("AAPL",)))])
    # when a mail provider POSTs the one-click body, with CSRF checks on and no cookies
    response = Client(enforce_csrf_checks=True).post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    # then AAPL is unfollowed and nothing else changed
    assert response.status_code == 200
    assert list(Subscription.objects.values_list("ticker", flat=True)) == ["MSFT"]
    assert User.objects.get().discovery_mode is True


def test_unsubscribe_get_only_shows_a_confirm_page():
    person = user("f@x.test", follows=("AAPL",))
    url = reverse("alerts:unsubscribe", args=[unsubscribe_token(UnsubscribeScope(person.pk, ("AAPL",)))])
    response = Client().get(url)
    assert response.status_code == 200 and b'<form method="post">' in response.content
    assert Subscription.objects.count() == 1


def test_discovery_unsubscribe_turns_discovery_mode_off():
    person = user("e@x.test", follows=("AAPL",), discovery=True)
    url = reverse("alerts:unsubscribe", args=[unsubscribe_token(UnsubscribeScope(person.pk, discovery=True))])
    Client().post(url)
    assert User.objects.get().discovery_mode is False and Subscription.objects.count() == 1


def test_a_forged_token_changes_nothing():
    # given a token for one user altered to name another
    victim = user("victim@x.test", follows=("AAPL",))
    token = unsubscribe_token(UnsubscribeScope(victim.pk + 1, ("AAPL",)))
    payload, _, rest = token.partition(":")
    forged = signing.b64_encode(f'{{"u":{victim.pk},"t":["AAPL"],"d":0}}'.encode()).decode() + ":" + rest
    # when / then
    for bad in (forged, "not-a-token", token[:-2] + "xx"):
        response = Client().post(reverse("alerts:unsubscribe", args=[bad]))
        assert response.status_code == 400
    assert Subscription.objects.count() == 1


def test_an_expired_token_is_refused(settings):
    person = user("f@x.test", follows=("AAPL",))
    url = reverse("alerts:unsubscribe", args=[unsubscribe_token(UnsubscribeScope(person.pk, ("AAPL",)))])
    settings.UNSUBSCRIBE_MAX_AGE_DAYS = -1
    assert Client().post(url).status_code == 410
    assert Subscription.objects.count() == 1


def test_a_mail_merged_message_equals_one_built_on_its_own():
    # given an alert and both ways of building its message
    from email import message_from_bytes, policy

    from alerts.emails import _LINK_PLACEHOLDER, AlertMessages, MergedEmail

    user("f@x.test", follows=("AAPL",))
    (alert,) = scan_at(AS_OF, signal_dict("AAPL", structure="double_calendar", ff=0.31))
    builder = AlertMessages()
    merged = builder.alert(alert, alert.signal.data, 0.2, "f@x.test")
    rendered, _ = builder._variants[(alert.signal_id, alert.kind, 0.2)]
    link = merged.message().as_bytes().decode().split("List-Unsubscribe: <")[1].split(">")[0]
    single = builder._message(rendered, "f@x.test", link, merged.extra_headers["Message-ID"])
    # when both are parsed as a mail client would
    a = message_from_bytes(merged.message().as_bytes(), policy=policy.default)
    b = message_from_bytes(single.message().as_bytes(), policy=policy.default)
    # then they carry the same headers and parts
    assert isinstance(merged, MergedEmail) and _LINK_PLACEHOLDER not in str(a)
    for header in ("Subject", "From", "To", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-ID"):
        assert a[header].strip() == b[header].strip(), header
    for kind in ("plain", "html"):
        assert a.get_body((kind,)).get_content() == b.get_body((kind,)).get_content()
