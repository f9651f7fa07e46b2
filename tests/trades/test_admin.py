"""The operator's view of paper trades: a read-only list with filters, a trade with its marks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import User
from tests.trades.builders import later, qualifying, store
from trades.models import PaperTrade

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("root@example.com", "a-strong-password-123"))
    return client


def test_the_list_filters_and_a_trade_shows_its_marks_read_only(operator, postgres):
    signal = qualifying()
    store(signal)
    store(later(signal, datetime(2025, 3, 10, 15, 0, tzinfo=UTC), {"front_call": (2.0, 2.1), "back_call": (3.6, 3.8)}))
    trade = PaperTrade.objects.get()
    listing = operator.get(reverse("admin:trades_papertrade_changelist"), {"status__exact": "open"})
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "AAPL" in body and "0.300" in body
    page = operator.get(reverse("admin:trades_papertrade_change", args=[trade.pk]))
    assert page.status_code == 200
    assert "1.650" in page.content.decode()  # the mark's mid credit, 3.70 - 2.05
    assert operator.post(reverse("admin:trades_papertrade_change", args=[trade.pk]), {}).status_code == 403


def test_placed_trades_list_with_their_reminders_read_only(operator, postgres, settings):
    from django.test import Client

    from tests.trades.placed_helpers import PLACED_AT, Clock, an_alert, placed_path
    from trades.models import PlacedTrade

    settings.MARKET_SIMULATED = False
    # given a user who placed an alert's spread
    Clock(PLACED_AT)
    alert = an_alert("placer@x.test")
    assert Client(enforce_csrf_checks=False).post(placed_path(alert)).status_code in (200, 302)
    trade = PlacedTrade.objects.get()
    # then the operator finds it by the user's address, with its entry and its two reminders
    listing = operator.get(reverse("admin:trades_placedtrade_changelist"), {"q": "placer@x.test"})
    body = listing.content.decode()
    assert listing.status_code == 200 and "AAPL" in body and "placer@x.test" in body
    assert f"{trade.entry_debit:.2f} ({trade.entry_source})" in body
    page = operator.get(reverse("admin:trades_placedtrade_change", args=[trade.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "the session before the front expiry" in text and "the open on the front expiry day" in text
    assert operator.post(reverse("admin:trades_placedtrade_change", args=[trade.pk]), {}).status_code == 403
