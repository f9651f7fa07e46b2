from __future__ import annotations

import smtplib
from datetime import date, timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.models import Subscription, User
from alerts.emails import send_digest_batch, send_message_batch
from alerts.links import (
    FollowInvitation,
    UnsubscribeScope,
    follow_token,
    read_trade_token,
    unsubscribe_token,
)
from alerts.models import Alert, Message
from alerts.ticket import new_york_time, order_ticket
from scanner.models import EarningsEvent
from testing.factories import AS_OF, signal_dict, universe, user
from tests.alerts.test_no_spam import scan_at, with_earnings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def real_market(settings):
    """Emails of a real market (no "SIMULATED DATA" label) unless a test says otherwise."""
    settings.MARKET_SIMULATED = False


def unsubscribe_link(message) -> str:
    return message["List-Unsubscribe"].strip().strip("<>")


def mark_sent_fails_once(monkeypatch, error: BaseException) -> None:
    """The next ``outbox.mark_sent`` raises ``error`` (the database gone, the worker killed), later ones work."""
    from alerts import outbox

    mark_sent = outbox.mark_sent

    def fails(*args, **kwargs):
        monkeypatch.setattr(outbox, "mark_sent", mark_sent)
        raise error

    monkeypatch.setattr(outbox, "mark_sent", fails)


def message_ids(alerts: list[Alert]) -> list[int]:
    return sorted({a.message_id for a in alerts})


def test_one_message_lists_every_passing_setup_strongest_first_with_its_links(smtp_sink):
    # given a follower and a scan where five pairs and structures pass for them
    user("f@x.test", follows=("AAPL",), ff_threshold=0.2)
    alerts = scan_at(
        AS_OF,
        signal_dict("AAPL", pair="30-60", ff=0.31),
        signal_dict("AAPL", pair="30-90", ff=0.45),
        signal_dict("AAPL", pair="60-90", ff=0.28),
        signal_dict("AAPL", structure="double_calendar", pair="30-60", ff=0.38),
        signal_dict("AAPL", structure="double_calendar", pair="60-90", ff=0.22),
    )
    # when its message is sent over SMTP
    report = send_message_batch(message_ids(alerts), "task-1")
    # then one multipart/alternative email lists the five, strongest first
    assert report.sent == 1 and smtp_sink.wait_for(1)
    (received,) = smtp_sink.messages
    message = received.message()
    assert received.rcpt_tos == ["f@x.test"]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "AAPL: FF 0.45 on 30-90 (+4 more)"
    text = message.get_body(("plain",)).get_content()
    headings = [line.split(":")[0] for line in text.splitlines() if line[:2] in {f"{i}." for i in range(1, 6)}]
    assert headings == [
        "1. 30-90 ATM call calendar (30 / 90 days)",
        "2. 30-60 double calendar (30 / 60 days)",
        "3. 30-60 ATM call calendar (30 / 60 days)",
        "4. 60-90 ATM call calendar (60 / 90 days)",
        "5. 60-90 double calendar (60 / 90 days)",
    ]
    assert "You follow AAPL: 5 setups reached your threshold of FF 0.20" in text
    assert "AAPL · spot $100.40 · data as of 4 Mar 2025 11:00 ET" in text
    assert "Earnings date unknown" in text and "constant-maturity FF" in text
    # and the three links, in both parts, with RFC 8058 headers
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "https://ff.example/tickers/AAPL/" in part
        assert "https://ff.example/me/settings/" in part
        assert unsubscribe_link(message) in part
        assert "/follow/" not in part
    assert unsubscribe_link(message).startswith("https://ff.example/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Message.objects.get().status == Message.Status.SENT
    assert Alert.objects.count() == 5
    # and under each setup the user's own "I placed this" and "Ignore" links, signed for its alert
    for kind in ("placed", "ignore"):
        found = [word for word in text.split() if word.startswith(f"https://ff.example/trades/{kind}/")]
        assert len(found) == 5 and all(url in html for url in found)
        claims = [read_trade_token(url.removeprefix(f"https://ff.example/trades/{kind}/").rstrip("/")) for url in found]
        assert [c.alert_id for c in claims] == [a.pk for a in alerts]  # strongest first, as the setups
        assert {c.user_id for c in claims} == {alerts[0].user_id}


def test_a_discovery_message_offers_a_one_click_follow(smtp_sink):
    universe(date(2025, 3, 3), "XYZ")
    person = user("e@x.test", discovery=True, discovery_threshold=0.25)
    alerts = scan_at(AS_OF, signal_dict("XYZ", structure="double_calendar", ff=0.33))
    send_message_batch(message_ids(alerts), "task-1")
    message = smtp_sink.messages[0].message()
    assert message["Subject"] == "XYZ (not on your list): FF 0.33 on 30-60"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "XYZ is not on your list" in text
    # the double calendar: one four-leg ticket, and each side's IVs labelled
    assert (
        "Sell 1 XYZ 3 Apr 25 100 C / Buy 1 XYZ 3 May 25 100 C / Sell 1 XYZ 3 Apr 25 95 P / Buy 1 XYZ 3 May 25 95 P"
        in text
    )
    assert "Call side IV: front 40.0%, back 40.0%, forward 20.6%" in text
    assert "Put side IV: front 40.0%, back 40.0%, forward 19.0%" in text
    # the follow link, in both parts, follows XYZ when POSTed
    follow = next(word for word in text.split() if "/follow/" in word)
    assert follow.startswith("https://ff.example/follow/") and follow in html
    assert Client().post(follow.removeprefix("https://ff.example")).status_code == 200
    assert list(Subscription.objects.filter(user=person).values_list("ticker", flat=True)) == ["XYZ"]


def test_the_order_ticket_reads_as_a_trader_enters_it():
    # given a hand-built PLTR call calendar: strike 61, 31 Dec 26 / 29 Jan 27, a $1.36 debit and a $1.40 limit
    signal = signal_dict("PLTR")
    for leg, expiry in zip(signal["legs"], ("2026-12-31", "2027-01-29")):
        leg.update(strike=61.0, expiry=expiry)
    signal.update(debit=1.36, debit_per_spread=136.0, limit_price=1.40)
    # when / then
    assert order_ticket(signal) == (
        "Sell 1 PLTR 31 Dec 26 61 C / Buy 1 PLTR 29 Jan 27 61 C · debit ≈ $1.36 a share ($136 a spread) · limit $1.40"
    )


def test_times_read_in_new_york_to_the_minute():
    assert new_york_time("2026-11-30T15:26:08.250726+00:00") == "30 Nov 2026 10:26 ET"


def test_a_known_earnings_date_is_shown_and_simulated_data_is_labelled(smtp_sink, settings):
    # given an earnings date after the scan and figures from the simulated market
    settings.MARKET_SIMULATED = True
    EarningsEvent.objects.create(ticker="AAPL", date=date(2025, 4, 30))
    user("f@x.test", follows=("AAPL",))
    alerts = scan_at(AS_OF, signal_dict("AAPL", ff=0.31))
    # when
    send_message_batch(message_ids(alerts), "task-1")
    # then
    message = smtp_sink.messages[0].message()
    assert message["Subject"] == "[SIMULATED DATA] AAPL: FF 0.31 on 30-60"
    text = message.get_body(("plain",)).get_content()
    assert "Earnings 30 Apr 25, time of day unknown" in text and "Earnings date unknown" not in text
    assert text.startswith("SIMULATED DATA")
    assert "SIMULATED DATA" in message.get_body(("html",)).get_content()


def test_the_same_batch_sent_twice_sends_once(smtp_sink):
    # given three pending messages
    for i in range(3):
        user(f"f{i}@x.test", follows=("AAPL",))
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    # when the batch runs, then again under the same id (a redelivery) and under another id (a duplicate)
    first = send_message_batch(ids, "task-1")
    again = send_message_batch(ids, "task-1")
    duplicate = send_message_batch(ids, "task-2")
    # then three emails in all
    assert (first.sent, again.sent, duplicate.sent) == (3, 0, 0)
    assert smtp_sink.accepted == 3


def test_a_message_the_database_failed_to_mark_sent_is_not_sent_again(smtp_sink, monkeypatch, shared_state_reset):
    # given a pending message, and PostgreSQL gone just after the SMTP server accepted it
    from django.db import OperationalError

    user("f@x.test", follows=("AAPL",))
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    mark_sent_fails_once(monkeypatch, OperationalError("server closed the connection unexpectedly"))
    with pytest.raises(OperationalError):
        send_message_batch(ids, "task-1")
    # when the task retries under the same claim
    report = send_message_batch(ids, "task-1")
    # then the message is marked sent from its SMTP receipt and not sent a second time
    assert report.sent == 1 and smtp_sink.accepted == 1
    assert Message.objects.get().status == Message.Status.SENT


def test_a_send_task_queued_with_alert_ids_sends_their_message_once(smtp_sink, settings):
    from forwardfactor.celery import app

    # given a message of two alerts and a task queued before messages existed, naming the alerts
    user("f@x.test", follows=("AAPL",))
    alerts = scan_at(AS_OF, signal_dict(pair="30-60", ff=0.3), signal_dict(pair="60-90", ff=0.4))
    task = app.tasks["scanner.tasks.send_alerts"]
    # when it runs, and runs again
    first = task.apply(args=[[a.pk for a in alerts]], task_id="old-task").get()
    again = task.apply(args=[[a.pk for a in alerts]], task_id="old-task").get()
    # then one email
    assert (first["sent"], again["sent"]) == (1, 0) and smtp_sink.accepted == 1


def test_the_message_id_is_fixed_when_the_message_is_created(smtp_sink):
    # given a message whose first attempt the server refused for good
    from alerts import outbox

    user("f@x.test", follows=("AAPL",))
    (alert,) = scan_at(AS_OF, signal_dict(ff=0.3))
    smtp_sink.refuse("f@x.test")
    send_message_batch([alert.message_id], "task-1")
    assert Message.objects.get().status == Message.Status.FAILED
    # when an operator resends it and the server takes it
    smtp_sink.handler.refuse.clear()
    send_message_batch(outbox.retry_failed([alert.message_id]), "task-2")
    # then the email carries the Message-ID the message was given when it was created
    (sent,) = smtp_sink.messages
    assert sent.message()["Message-ID"] == Message.objects.get().message_id


def test_transient_smtp_failure_is_recorded_and_the_retry_sends_the_rest(smtp_sink):
    # given two messages and a server that answers the second DATA with 451
    user("a@x.test", follows=("AAPL",))
    user("b@x.test", follows=("AAPL",))
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    send_message_batch(ids[:1], "warm-up")  # the first goes through
    smtp_sink.fail_next(1)
    # when the batch with the remaining message fails transiently
    with pytest.raises(smtplib.SMTPDataError):
        send_message_batch(ids[1:], "task-1")
    failed = Message.objects.get(pk=ids[1])
    # then the error is recorded and the message stays claimed for the retry
    assert failed.status == Message.Status.SENDING and "451" in failed.error
    # when the task retries under its id
    assert send_message_batch(ids[1:], "task-1").sent == 1
    # then
    assert smtp_sink.accepted == 2
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


def test_a_refused_recipient_fails_only_its_message(smtp_sink):
    user("gone@x.test", follows=("AAPL",))
    user("here@x.test", follows=("AAPL",))
    smtp_sink.refuse("gone@x.test")
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    report = send_message_batch(ids, "task-1")
    assert (report.sent, report.failed) == (1, 1)
    assert Message.objects.get(user__email="gone@x.test").status == Message.Status.FAILED
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["here@x.test"]]


def test_a_message_of_a_ticker_unfollowed_before_sending_is_cancelled(smtp_sink):
    person = user("f@x.test", follows=("AAPL",))
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    Subscription.objects.filter(user=person).delete()
    report = send_message_batch(ids, "task-1")
    assert report.cancelled == 1 and smtp_sink.accepted == 0
    assert Message.objects.get().status == Message.Status.CANCELLED


def test_quiet_hours_produce_one_digest_grouped_by_ticker(smtp_sink):
    # given quiet hours covering AS_OF (16:00 UTC = 11:00 New York) and scans of two tickers
    from datetime import time

    user("f@x.test", follows=("AAPL", "MSFT"), quiet_hours_start=time(10), quiet_hours_end=time(12))
    held = scan_at(AS_OF, signal_dict(pair="30-60", ff=0.3), signal_dict(pair="60-90", ff=0.4))
    held += scan_at(AS_OF, signal_dict("MSFT", ff=0.5))
    assert {a.message.status for a in held} == {Message.Status.HELD}
    # when digests are flushed before quiet hours end
    assert send_digest_batch([held[0].user_id], "early", AS_OF).sent == 0
    # and after they end (12:00 New York)
    report = send_digest_batch([held[0].user_id], "flush", AS_OF + timedelta(hours=1, minutes=1))
    # then one email carries both messages, a section per ticker, strongest first
    assert report.sent == 2 and smtp_sink.accepted == 1
    message = smtp_sink.messages[0].message()
    assert message["Subject"] == "Forward Factor digest: MSFT, AAPL (3 setups)"
    text = message.get_body(("plain",)).get_content()
    assert text.index("MSFT · spot") < text.index("AAPL · spot")
    aapl = text[text.index("AAPL · spot") :]
    assert aapl.index("1. 60-90") < aapl.index("2. 30-60")
    assert "https://ff.example/tickers/MSFT/" in text and "https://ff.example/me/settings/" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # and every setup its own "I placed this" and "Ignore" links, in both parts
    html = message.get_body(("html",)).get_content()
    for kind in ("placed", "ignore"):
        found = [word for word in text.split() if word.startswith(f"https://ff.example/trades/{kind}/")]
        assert len(found) == 3 and all(url in html for url in found)
        claimed = {read_trade_token(url.rsplit("/", 2)[1]).alert_id for url in found}
        assert claimed == {a.pk for a in held}


def test_setups_and_digest_sections_come_strongest_first_by_the_ff_the_user_is_judged_on(smtp_sink):
    # given a follower judged on the ex-earnings FF and one who ignores earnings
    from datetime import time

    user("ex@x.test", follows=("AAPL",))
    user("raw@x.test", follows=("AAPL",), earnings_policy="ignore")
    # when a scan finds a pair whose FF comes from its earnings and one without earnings, and both are sent
    alerts = scan_at(AS_OF, with_earnings(pair="30-60", ff=0.40, ex_earnings=0.21), signal_dict(pair="30-90", ff=0.30))
    assert send_message_batch(message_ids(alerts), "task-1").sent == 2
    # then each email leads with its user's strongest; a subject whose setup holds earnings names both FFs
    subjects = {m.rcpt_tos[0]: m.message()["Subject"] for m in smtp_sink.messages}
    assert subjects == {
        "ex@x.test": "AAPL: FF 0.30 on 30-90 (+1 more)",
        "raw@x.test": "AAPL: FF 0.40 (ex-earnings 0.21) on 30-60 (+1 more)",
    }
    # and a digest orders its tickers the same way
    person = user("quiet@x.test", follows=("AAPL", "MSFT"), quiet_hours_start=time(10), quiet_hours_end=time(12))
    held = scan_at(AS_OF + timedelta(minutes=1), with_earnings(pair="60-90", ff=0.50, ex_earnings=0.21))
    held += scan_at(AS_OF + timedelta(minutes=1), signal_dict("MSFT", ff=0.30))
    assert {a.message.status for a in held if a.user_id == person.pk} == {Message.Status.HELD}
    assert send_digest_batch([person.pk], "flush", AS_OF + timedelta(hours=1, minutes=1)).sent == 2
    digest = smtp_sink.messages[-1].message()
    assert digest["Subject"] == "Forward Factor digest: MSFT, AAPL (2 setups)"


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
    # given a discovery message and both ways of building its email
    from email import message_from_bytes, policy

    from alerts.emails import _FOLLOW_PLACEHOLDER, _LINK_PLACEHOLDER, MergedEmail, _load

    universe(date(2025, 3, 3), "XYZ")
    user("e@x.test", discovery=True, discovery_threshold=0.25)
    scan_at(AS_OF, signal_dict("XYZ", structure="double_calendar", ff=0.31))
    message = Message.objects.get()
    loaded = _load([message.pk])
    builder = loaded.builder()
    alert_ids = loaded.alert_ids[message.pk]
    merged = builder.message(loaded.messages[0], loaded.signal_ids[message.pk], 0.25, "e@x.test", alert_ids)
    (rendered, _merge), *_ = builder._variants.values()
    raw = merged.message().as_bytes().decode()
    link = raw.split("List-Unsubscribe: <")[1].split(">")[0]
    own_links = dict(zip(builder._placeholders(message, 1), builder._own_links(message, alert_ids)))
    single = builder._message(rendered, "e@x.test", link, message.message_id, own_links)
    # when both are parsed as a mail client would
    a = message_from_bytes(merged.message().as_bytes(), policy=policy.default)
    b = message_from_bytes(single.message().as_bytes(), policy=policy.default)
    # then they carry the same headers and parts, with no placeholder left
    assert isinstance(merged, MergedEmail)
    assert _LINK_PLACEHOLDER not in str(a) and _FOLLOW_PLACEHOLDER not in str(a)
    for header in ("Subject", "From", "To", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-ID"):
        assert a[header].strip() == b[header].strip(), header
    for kind in ("plain", "html"):
        body = a.get_body((kind,)).get_content()
        assert body == b.get_body((kind,)).get_content()
        assert ".invalid/" not in body and "/trades/placed/" in body and "/trades/ignore/" in body


# --- follow ------------------------------------------------------------------------------------


def follow_link(person: User, ticker: str = "XYZ") -> str:
    return reverse("alerts:follow", args=[follow_token(FollowInvitation(person.pk, ticker))])


def test_follow_get_only_shows_a_confirm_page_and_post_follows_once():
    # given a discovery user's follow link
    person = user("e@x.test", discovery=True)
    url = follow_link(person)
    # when a mail scanner opens it
    page = Client().get(url)
    # then nothing changed
    assert page.status_code == 200 and b'<form method="post">' in page.content
    assert not Subscription.objects.exists()
    # when the user confirms, twice, with CSRF checks on and no session
    for _ in range(2):
        assert Client(enforce_csrf_checks=True).post(url).status_code == 200
    # then they follow XYZ, once
    assert list(Subscription.objects.filter(user=person).values_list("ticker", flat=True)) == ["XYZ"]


def test_a_forged_follow_token_follows_nothing():
    # given a token for one user altered to name another, and damaged tokens
    victim = user("victim@x.test")
    token = follow_token(FollowInvitation(victim.pk + 1, "XYZ"))
    _, _, rest = token.partition(":")
    forged = signing.b64_encode(f'{{"u":{victim.pk},"t":"XYZ"}}'.encode()).decode() + ":" + rest
    unsubscribe = unsubscribe_token(UnsubscribeScope(victim.pk, ("XYZ",)))  # signed, but for another purpose
    # when / then
    for bad in (forged, "not-a-token", token[:-2] + "xx", unsubscribe):
        assert Client().post(reverse("alerts:follow", args=[bad])).status_code == 400
    assert not Subscription.objects.exists()


def test_an_expired_follow_token_is_refused(settings):
    person = user("e@x.test", discovery=True)
    url = follow_link(person)
    settings.FOLLOW_LINK_MAX_AGE_DAYS = -1
    response = Client().post(url)
    assert response.status_code == 410 and b"expired" in response.content
    assert not Subscription.objects.exists()


def test_a_transient_failure_mid_batch_still_marks_the_messages_accepted_before_it(smtp_sink, monkeypatch, settings):
    # given four pending messages, marked sent in groups larger than the batch
    from alerts import receipts

    settings.ALERT_MARK_SENT_EVERY = 10
    for i in range(4):
        user(f"g{i}@x.test", follows=("AAPL",))
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    remember = receipts.remember_accepted

    def fail_after_the_second(headers: list[str]) -> bool:
        kept = remember(headers)
        if smtp_sink.accepted == 2:
            smtp_sink.fail_next(1)  # the server's next DATA answers 451
        return kept

    monkeypatch.setattr(receipts, "remember_accepted", fail_after_the_second)
    # when the batch fails transiently at its third message
    with pytest.raises(smtplib.SMTPDataError):
        send_message_batch(ids, "task-1")
    # then the two the server took are marked sent on the way out, the rest wait for the retry
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == [Message.Status.SENT] * 2 + [Message.Status.SENDING] * 2
    # when the task retries under its id
    assert send_message_batch(ids, "task-1").sent == 2
    # then every message went out once
    assert smtp_sink.accepted == 4
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


def test_a_worker_killed_before_its_group_is_marked_sends_nothing_twice(
    smtp_sink, monkeypatch, shared_state_reset, settings
):
    # given three pending messages, and a worker that dies where it would mark its group sent
    settings.ALERT_MARK_SENT_EVERY = 10
    for i in range(3):
        user(f"k{i}@x.test", follows=("AAPL",))
    ids = message_ids(scan_at(AS_OF, signal_dict(ff=0.3)))
    mark_sent_fails_once(monkeypatch, SystemExit("SIGKILL"))
    with pytest.raises(SystemExit):
        send_message_batch(ids, "task-1")
    assert smtp_sink.accepted == 3
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENDING}
    # when the batch runs again under the same claim (the lease lapsed, the sweeper requeued it)
    report = send_message_batch(ids, "task-1")
    # then the receipts mark all three sent and nothing is sent twice
    assert report.sent == 3 and smtp_sink.accepted == 3
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


def test_a_digest_the_database_failed_to_mark_sent_is_not_sent_again(smtp_sink, monkeypatch, shared_state_reset):
    # given a follower in quiet hours with two held messages, and PostgreSQL gone once the digest is accepted
    from datetime import time

    from django.db import OperationalError

    person = user("quiet@x.test", follows=("AAPL", "MSFT"), quiet_hours_start=time(10), quiet_hours_end=time(12))
    held = scan_at(AS_OF, signal_dict(ff=0.30)) + scan_at(AS_OF, signal_dict("MSFT", ff=0.35))
    assert {a.message.status for a in held} == {Message.Status.HELD}
    mark_sent_fails_once(monkeypatch, OperationalError("server closed the connection unexpectedly"))
    with pytest.raises(OperationalError):
        send_digest_batch([person.pk], "flush", AS_OF + timedelta(hours=3))
    assert smtp_sink.accepted == 1
    # when the flush retries under the same claim
    report = send_digest_batch([person.pk], "flush", AS_OF + timedelta(hours=3))
    # then both messages are marked sent from the digest's receipts and no second digest goes out
    assert report.sent == 2 and smtp_sink.accepted == 1
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}
