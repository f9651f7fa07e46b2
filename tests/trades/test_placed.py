"""'I placed this' and 'Ignore' from an alert email: signed one-click links, marks and exit reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from alerts.links import (
    FollowInvitation,
    TradeClaim,
    follow_token,
    ignore_url,
    placed_url,
    read_trade_token,
    trade_token,
)
from testing.factories import AS_OF
from tests.trades.builders import later, qualifying, store
from tests.trades.placed_helpers import EVE, EXPIRY_OPEN, PLACED_AT, Clock, an_alert, ignore_path, placed_path
from trades import placed, reminders
from trades.models import PaperTrade, PlacedMark, PlacedTrade, Reminder
from trades.tasks import send_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def real_market(settings):
    settings.MARKET_SIMULATED = False


@pytest.fixture
def clock() -> Clock:
    return Clock(PLACED_AT)


# --- the links ---------------------------------------------------------------------------------


def test_the_links_live_at_stable_paths_under_the_site():
    token = trade_token(TradeClaim(7, 42))
    assert placed_url(token) == f"https://ff.example/trades/placed/{token}/"
    assert ignore_url(token) == f"https://ff.example/trades/ignore/{token}/"
    assert read_trade_token(token) == TradeClaim(7, 42)


def test_get_only_confirms_and_post_places_once_signed_out(clock):
    # given a user's alert and its "I placed this" link
    alert = an_alert()
    url = placed_path(alert)
    # when a mail scanner opens it
    page = Client().get(url)
    # then it shows the order ticket and a confirm button, and nothing is placed
    assert page.status_code == 200 and b'<form method="post">' in page.content
    assert "Sell 1 AAPL 3 Apr 25 100 C / Buy 1 AAPL 3 May 25 100 C" in page.content.decode()
    assert not PlacedTrade.objects.exists()
    # when the user confirms twice (a double click), signed out and with CSRF checks on
    for _ in range(2):
        assert Client(enforce_csrf_checks=True).post(url).status_code == 200
    # then one open trade of the alert's spread, at the suggested limit, with its two reminders
    trade = PlacedTrade.objects.get()
    assert (trade.user_id, trade.alert_id, trade.status) == (alert.user_id, alert.pk, PlacedTrade.Status.OPEN)
    assert (trade.ticker, trade.pair, trade.structure, trade.strikes) == ("AAPL", "30-60", "atm_call_calendar", "100")
    assert trade.entry_debit == alert.signal.data["limit_price"] and trade.entry_source == "the suggested limit"
    assert trade.placed_at == PLACED_AT
    assert sorted(trade.reminders.values_list("kind", "due_at")) == [("eve", EVE), ("expiry_open", EXPIRY_OPEN)]


def test_ignore_records_the_answer_without_reminders_and_placing_later_opens_it(clock):
    alert = an_alert()
    assert Client().post(ignore_path(alert)).status_code == 200
    trade = PlacedTrade.objects.get()
    assert trade.status == PlacedTrade.Status.IGNORED and not trade.reminders.exists()
    # the user changes their mind
    assert Client().post(placed_path(alert)).status_code == 200
    trade.refresh_from_db()
    assert trade.status == PlacedTrade.Status.OPEN and trade.reminders.count() == 2
    # and an "Ignore" after placing leaves the trade open
    Client().post(ignore_path(alert))
    assert PlacedTrade.objects.get().status == PlacedTrade.Status.OPEN


def test_forged_or_crossed_tokens_are_refused_with_a_clear_page(clock):
    # given a victim's alert and tokens that are not theirs to use
    alert = an_alert("victim@x.test")
    other = an_alert("other@x.test")
    token = trade_token(TradeClaim(other.user_id, other.pk))
    _, _, rest = token.partition(":")
    forged = signing.b64_encode(f'{{"u":{alert.user_id},"a":{alert.pk}}}'.encode()).decode() + ":" + rest
    follow = follow_token(FollowInvitation(alert.user_id, "AAPL"))  # signed, but for another purpose
    for bad in (forged, "not-a-token", token[:-2] + "xx", follow):
        for action in ("placed", "ignore"):
            for client_call in (Client().get, Client().post):
                response = client_call(f"/trades/{action}/{bad}/")
                assert response.status_code == 400
                assert "This link is not valid" in response.content.decode()
    assert not PlacedTrade.objects.exists()


def test_a_token_naming_another_users_alert_places_nothing(clock):
    # signed correctly, but the alert is not the user's: the site refuses (404), never a 500
    mine, theirs = an_alert("me@x.test"), an_alert("them@x.test")
    token = trade_token(TradeClaim(mine.user_id, theirs.pk))
    assert Client().post(f"/trades/placed/{token}/").status_code == 404
    assert Client().get(f"/trades/placed/{token}/").status_code == 404
    assert not PlacedTrade.objects.exists()


def test_an_expired_link_is_refused(clock, settings):
    alert = an_alert()
    settings.PLACED_LINK_MAX_AGE_DAYS = -1
    response = Client().post(placed_path(alert))
    assert response.status_code == 410 and b"expired" in response.content
    assert not PlacedTrade.objects.exists()


# --- marks -------------------------------------------------------------------------------------


def test_a_placed_trade_shares_the_paper_trades_marks_or_marks_itself(settings):
    # given a qualifying signal stored by a scan: a paper trade and a follower's alert
    from testing.factories import user

    person = user("f@x.test", follows=("AAPL",))
    scan, (signal,) = store(qualifying())
    paper = PaperTrade.objects.get()
    shared = placed.place(person.pk, 1, signal, AS_OF)[0]
    assert shared.paper_trade == paper
    alone = placed.place(person.pk, 2, signal, AS_OF)[0]
    PlacedTrade.objects.filter(pk=alone.pk).update(paper_trade=None)  # a spread no paper trade holds
    placed.set_own_fill(alone, 1.10)
    # when a later scan quotes the legs again
    quotes = {"front_call": (2.00, 2.10), "back_call": (3.80, 4.00)}
    store(later(qualifying(), AS_OF + timedelta(hours=1), quotes))
    # then the shared one took the paper trade's mark (no row of its own), the other marked itself
    mark = paper.marks.get()
    shared.refresh_from_db()
    alone.refresh_from_db()
    assert (shared.last_mark_at, shared.last_mark_fill) == (mark.at, mark.fill)
    assert not shared.marks.exists()
    own = PlacedMark.objects.get(placed=alone)
    assert (own.mid, own.fill) == pytest.approx((mark.mid, mark.fill))
    # and the P&L per spread, recomputed here: (credit - debit) x 100 less 2 legs x $0.65 on each side
    credit_fill = (3.90 - 2.05) - 0.25 * ((3.90 - 2.05) - (3.80 - 2.10))
    assert own.fill == pytest.approx(credit_fill)
    assert alone.pnl_per_spread == pytest.approx(round((credit_fill - 1.10) * 100 - 2.60, 2))
    entry = shared.suggested_limit
    assert shared.pnl_per_spread == pytest.approx(round((credit_fill - entry) * 100 - 2.60, 2))


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_go_out_once_each_also_when_the_task_runs_twice(clock, smtp_sink):
    # given a placed trade
    alert = an_alert()
    Client().post(placed_path(alert))
    # when the task runs before the first reminder is due, then twice at 15:00 New York of the eve session
    clock.at = EVE - timedelta(minutes=5)
    send_reminders.apply()
    clock.at = EVE
    send_reminders.apply()
    send_reminders.apply()
    # then one reminder went out
    assert smtp_sink.wait_for(1) and smtp_sink.accepted == 1
    message = smtp_sink.messages[0].message()
    assert smtp_sink.messages[0].rcpt_tos == ["f@x.test"]
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "Tomorrow's expiry: your AAPL 30-60 ATM call calendar (front legs expire 3 Apr 2025)"
    text = message.get_body(("plain",)).get_content()
    assert "it closes at 2 Apr 2025 16:00 ET" in text and "https://ff.example/me/trades/" in text
    assert "Entry: $1.27 a share (the suggested limit)" in text
    # when the task runs twice at the open of the expiry day
    clock.at = EXPIRY_OPEN
    send_reminders.apply()
    send_reminders.apply()
    # then the second reminder went out, once
    assert smtp_sink.wait_for(2) and smtp_sink.accepted == 2
    second = smtp_sink.messages[1].message()
    assert second["Subject"].startswith("Expiry today: your AAPL 30-60")
    assert "at the close (3 Apr 2025 16:00 ET)" in second.get_body(("plain",)).get_content()
    assert set(Reminder.objects.values_list("status", flat=True)) == {Reminder.Status.SENT}


def test_a_reminder_claimed_by_one_run_is_not_sent_by_another(clock, smtp_sink):
    Client().post(placed_path(an_alert()))
    # one run claims the reminder, and dies before sending
    assert len(reminders.claim_due(EVE, "task-a")) == 1
    # a second run at the same time sends nothing: the claim holds
    assert reminders.send_due_reminders(EVE, "task-b") == {"sent": 0, "cancelled": 0}
    # the first task's retry (same id) sends it
    assert reminders.send_due_reminders(EVE, "task-a") == {"sent": 1, "cancelled": 0}
    assert smtp_sink.wait_for(1) and smtp_sink.accepted == 1


def test_i_closed_it_stops_the_reminders(clock, smtp_sink):
    # given a placed trade whose first reminder went out
    Client().post(placed_path(an_alert()))
    trade = PlacedTrade.objects.get()
    assert reminders.send_due_reminders(EVE, "run-1")["sent"] == 1
    # when the user closes it
    assert placed.close(trade, EVE + timedelta(hours=1))
    # then the expiry-day reminder never goes out
    assert reminders.send_due_reminders(EXPIRY_OPEN, "run-2") == {"sent": 0, "cancelled": 0}
    assert dict(trade.reminders.values_list("kind", "status")) == {"eve": "sent", "expiry_open": "cancelled"}
    assert smtp_sink.accepted == 1
    assert not placed.close(trade, EXPIRY_OPEN)  # closing twice changes nothing


def test_a_reminder_claimed_before_the_user_closed_the_trade_is_not_sent_on_the_retry(clock, smtp_sink):
    # given a run that claimed the eve reminder and died before sending it
    Client().post(placed_path(an_alert()))
    trade = PlacedTrade.objects.get()
    assert len(reminders.claim_due(EVE, "task-a")) == 1
    # when the user closes the trade, then the run's retry comes
    assert placed.close(trade, EVE + timedelta(minutes=1))
    report = reminders.send_due_reminders(EVE + timedelta(minutes=2), "task-a")
    # then no reminder goes out and the claimed one is cancelled
    assert report == {"sent": 0, "cancelled": 1}
    assert dict(trade.reminders.values_list("kind", "status")) == {"eve": "cancelled", "expiry_open": "cancelled"}
    assert smtp_sink.accepted == 0


def test_a_trade_placed_after_the_eve_reminder_gets_only_the_expiry_day_one(clock):
    clock.at = EVE + timedelta(minutes=1)
    Client().post(placed_path(an_alert()))
    assert list(Reminder.objects.values_list("kind", flat=True)) == ["expiry_open"]


def test_a_reminder_not_sent_by_the_close_of_expiry_day_is_dropped(clock, smtp_sink):
    Client().post(placed_path(an_alert()))
    late = EXPIRY_OPEN + timedelta(days=1)
    assert reminders.send_due_reminders(late, "late") == {"sent": 0, "cancelled": 2}
    assert smtp_sink.accepted == 0
