"""The track record page in a real browser (Debian's chromium, Playwright) against a live server, signed
out: both charts draw from the stored trades within the Content-Security-Policy, and the page's
screenshot for the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.paper_trades import varied_book
from trades import results

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "track_record.png"
TRADES = 60


def test_the_track_record_draws_both_charts_with_data_points(live_server, browser_page):
    # given closed paper trades in every FF bucket, several closing at each exit time
    book = varied_book(TRADES)
    closing_times = {t.closed_at for t in book}
    buckets = [r for r in results.table() if r.group == "FF bucket"]
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    # when a visitor who never signed in follows the navigation's link
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Track record").click()
    page.wait_for_url("**/track-record/")

    # then both charts are drawn by uPlot, with their data points
    page.wait_for_function("document.querySelectorAll('[data-chart][data-points]').length === 2")
    assert page.locator("#pnl-chart canvas").count() == 1
    assert page.locator("#bucket-chart canvas").count() == 1
    # one point a closing time for each model; four figures a bucket (mean and median, each model)
    assert int(page.locator("#pnl-chart").get_attribute("data-points")) == 2 * len(closing_times)
    assert int(page.locator("#bucket-chart").get_attribute("data-points")) == 4 * len(buckets)
    legend = page.locator("#pnl-chart .u-legend").inner_text()
    assert "realistic fill" in legend and "mid" in legend
    assert "median, realistic fill" in page.locator("#bucket-chart .u-legend").inner_text()
    # and the results and the closed trades are on the page
    assert page.locator("#results tbody[data-group='FF bucket'] tr[data-value]").count() == len(buckets)
    assert page.locator("#trades tbody tr").count() == 50

    # and the page's picture is kept for the README: down to the first closed trades
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    trades_top = page.locator("#trades").bounding_box()["y"]
    page.screenshot(
        path=str(SCREENSHOT), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": trades_top + 480}
    )
