"""/me/trades/: a user's placed trades, their own fill, "I closed it"; nobody else's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.trades.placed_helpers import EVE, PLACED_AT, Clock, an_alert, placed_path
from trades import reminders
from trades.models import PlacedTrade, Reminder

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed_trade() -> PlacedTrade:
    """The trader's (trader@example.com, signed in by trader_client) trade placed from an alert."""
    Clock(PLACED_AT)
    from accounts.models import Subscription, User

    alert = an_alert("trader@example.com")
    assert Client().post(placed_path(alert)).status_code == 200
    Subscription.objects.get_or_create(user=User.objects.get(email="trader@example.com"), ticker="AAPL")
    return PlacedTrade.objects.get()


@pytest.fixture
def trader_client(client, placed_trade):
    client.force_login(placed_trade.user)
    return client


def test_the_list_and_the_trade_show_entry_marks_and_reminders(trader_client, placed_trade):
    page = trader_client.get("/me/trades/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'href="/me/trades/"' in body  # in the nav
    assert "AAPL" in body and "$1.27" in body and "the suggested limit" in body
    assert reverse("web:my_trade", args=[placed_trade.pk]) in body
    detail = trader_client.get(reverse("web:my_trade", args=[placed_trade.pk])).content.decode()
    assert "No mark yet" in detail and "I closed it" in detail and "Your fill" in detail
    assert "the session before the front expiry (2025-04-02 15:00 EDT): Pending" in detail


def test_another_users_trade_is_not_found(placed_trade):
    from testing.factories import user

    intruder = user("intruder@x.test")
    client = Client()
    client.force_login(intruder)
    for path in (reverse("web:my_trade", args=[placed_trade.pk]), f"/me/trades/{placed_trade.pk}/close/"):
        assert client.get(path).status_code in (404, 405)
        assert client.post(path, {"fill": "1.00"}).status_code == 404
    assert "AAPL" not in client.get("/me/trades/").content.decode()
    placed_trade.refresh_from_db()
    assert placed_trade.own_fill is None and placed_trade.status == PlacedTrade.Status.OPEN


def test_signed_out_the_pages_ask_to_sign_in(placed_trade):
    response = Client().get("/me/trades/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "Enter the debit you paid a share, e.g. 1.32."),
        ("abc", "Enter a number of dollars a share, e.g. 1.32."),
        ("0", "A calendar is bought for a debit: enter at least $0.01 a share."),
        ("-1.2", "A calendar is bought for a debit: enter at least $0.01 a share."),
        ("1.234", "Enter the debit to the cent, e.g. 1.32."),
        ("136000", "not a spread"),
    ],
)
def test_a_bad_fill_is_refused_with_a_clear_error(trader_client, placed_trade, value, error):
    response = trader_client.post(reverse("web:my_trade", args=[placed_trade.pk]), {"fill": value})
    assert response.status_code == 400 and error in response.content.decode()
    placed_trade.refresh_from_db()
    assert placed_trade.own_fill is None


def test_the_users_fill_becomes_the_entry(trader_client, placed_trade):
    url = reverse("web:my_trade", args=[placed_trade.pk])
    response = trader_client.post(url, {"fill": "1.31"})
    assert response.status_code == 302 and response["Location"] == url
    placed_trade.refresh_from_db()
    assert placed_trade.own_fill == 1.31 and placed_trade.entry_source == "your fill"
    assert "$1.31 a share (your fill)" in trader_client.get(url).content.decode()


def test_i_closed_it_needs_a_post_with_csrf_and_stops_reminders(placed_trade, smtp_sink):
    client = Client(enforce_csrf_checks=True)
    client.force_login(placed_trade.user)
    url = f"/me/trades/{placed_trade.pk}/close/"
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token
    # the button on the trade's page carries the token
    page = client.get(reverse("web:my_trade", args=[placed_trade.pk]))
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    placed_trade.refresh_from_db()
    assert placed_trade.status == PlacedTrade.Status.CLOSED
    assert set(Reminder.objects.values_list("status", flat=True)) == {Reminder.Status.CANCELLED}
    assert reminders.send_due_reminders(EVE, "after-close") == {"sent": 0, "cancelled": 0}
    assert smtp_sink.accepted == 0
