"""The ticker page in a real browser (Debian's chromium, Playwright) against a live server: both charts
draw from stored scans within the Content-Security-Policy, and the page's screenshot for the README."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from accounts.models import Subscription
from scanner.models import EarningsEvent, OptionableUnderlying, Ticker
from tests.web.conftest import PASSWORD
from tests.web.history import DAYS, EXPIRY_DTES, LAST, PAIRS, SCANS_A_DAY, store_scans

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ticker.png"


def test_the_ticker_page_draws_both_charts_with_data_points(live_server, browser_page, trader):
    # given a ticker with stored scans, followed by the trader, with an earnings date ahead
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at=LAST)
    Ticker.objects.create(symbol="AAPL", earnings_answer="vendor")
    EarningsEvent.objects.create(ticker="AAPL", date=date(2026, 4, 30), time_of_day="after_close", status="confirmed")
    Subscription.objects.create(user=trader, ticker="AAPL")
    trader.alert_settings.ff_threshold = 0.25
    trader.alert_settings.save()
    store_scans("AAPL")
    page = browser_page
    page.set_viewport_size({"width": 1200, "height": 900})

    # when the trader signs in and opens the ticker page (in lower case, as typed)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", trader.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/me/tickers/")
    page.goto(f"{live_server.url}/tickers/aapl/")
    page.wait_for_url("**/tickers/AAPL/")

    # then both charts are drawn by uPlot, with their data points
    page.wait_for_function("document.querySelectorAll('[data-chart][data-points]').length === 2")
    assert page.locator("#term-chart canvas").count() == 1
    assert page.locator("#history-chart canvas").count() == 1
    term_points = int(page.locator("#term-chart").get_attribute("data-points"))
    history_points = int(page.locator("#history-chart").get_attribute("data-points"))
    assert term_points == len(EXPIRY_DTES) + 2 * len(PAIRS)  # the ATM IVs, and each forward's two ends
    assert history_points == DAYS * SCANS_A_DAY * len(PAIRS) * 2
    # and the legend names every series, the threshold among them
    legend = page.locator("#history-chart .u-legend").inner_text()
    assert "30-60 ATM call calendar" in legend and "my threshold" in legend
    assert page.get_by_role("button", name="Unfollow").is_visible()

    # and the page's picture is kept for the README
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
