"""The ticker page in a real browser (Debian's chromium, Playwright) against a live server: both charts
draw from stored scans within the Content-Security-Policy, and the page's screenshot for the README."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from accounts.models import Subscription
from scanner.models import EarningsEvent, OptionableUnderlying, Scan, Ticker
from testing.factories import saved_signals, signal_dict
from tests.web.conftest import PASSWORD
from tests.web.test_browser import browser_page  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ticker.png"
LAST = datetime.fromisoformat("2026-03-04T20:30:00+00:00")
DAYS, SCANS_A_DAY = 20, 4
PAIRS = ((30, 60), (30, 90), (60, 90))
EXPIRY_DTES = (9, 16, 23, 30, 44, 60, 74, 90, 121, 151, 184, 247, 338)


def atm_iv(dte: int, day: int, scan: int) -> float:
    """A plausible, gently moving term structure: a rich front month decaying to a long-run level."""
    wave = 0.03 * math.sin((day * SCANS_A_DAY + scan) / 7)
    return 0.30 + (0.16 + wave) * math.exp(-dte / 45)


def forward_vol(front: int, back: int, day: int, scan: int) -> tuple[float, float, float]:
    near, far = atm_iv(front, day, scan), atm_iv(back, day, scan)
    forward = math.sqrt((far**2 * back - near**2 * front) / (back - front))
    return near, far, forward


def store_scans(ticker: str) -> None:
    """DAYS days of SCANS_A_DAY scans, each with every pair as both structures and its term structure."""
    for day in range(DAYS):
        for scan in range(SCANS_A_DAY):
            as_of = LAST - timedelta(days=DAYS - 1 - day, hours=1.5 * (SCANS_A_DAY - 1 - scan))
            signals = []
            for front, back in PAIRS:
                near, far, forward = forward_vol(front, back, day, scan)
                for structure, offset in (("atm_call_calendar", 0.0), ("double_calendar", -0.02)):
                    signal = signal_dict(
                        ticker, structure=structure, pair=f"{front}-{back}", ff=near / forward - 1 + offset, as_of=as_of
                    )
                    signal.update(front_iv=round(near, 4), back_iv=round(far, 4), forward_iv=round(forward, 4))
                    signals.append(signal)
            (first, *_) = saved_signals(*signals)
            term = [
                {
                    "expiry": (as_of.date() + timedelta(days=dte)).isoformat(),
                    "dte": dte,
                    "atm_iv": round(atm_iv(dte, day, scan), 4),
                    "source": "chain" if dte in (30, 60, 90) else "probe",
                }
                for dte in EXPIRY_DTES
            ]
            Scan.objects.filter(pk=first.scan_id).update(as_of=as_of, finished_at=as_of, term_structure=term)


def test_the_ticker_page_draws_both_charts_with_data_points(live_server, browser_page, trader):  # noqa: F811
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
