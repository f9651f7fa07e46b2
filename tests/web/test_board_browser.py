"""The board in a real browser: filter, the followed ticker first, and htmx refreshing the table with the
same filter, under the Content-Security-Policy (the browser_page fixture fails on any violation)."""

from __future__ import annotations

import pytest

from testing.factories import saved_signals, signal_dict, user
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_board_filters_puts_followed_tickers_first_and_refreshes_itself_keeping_the_filter(
    live_server, request, monkeypatch
):
    # given signals of three tickers, one followed; the table refreshes every second for the test
    monkeypatch.setattr("web.views.BOARD_REFRESH_SECONDS", 1)
    trader = user("board@example.com", follows=("TSLA",))
    trader.set_password(PASSWORD)
    trader.save()
    for ticker, ff in (("AAPL", 0.5), ("MSFT", 0.4), ("TSLA", 0.1)):
        saved_signals(signal_dict(ticker, ff=ff), signal_dict(ticker, pair="60-90", ff=ff))
    page = request.getfixturevalue("browser_page")

    # when the trader signs in and opens the board filtered to one pair
    page.goto(f"{live_server.url}/accounts/login/?next=/signals/")
    page.fill("input[name=login]", "board@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/signals/")
    page.select_option("select[name=pair]", "30-60")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/signals/?pair=30-60*")
    filtered = page.url
    # then the followed ticker comes first, then the strongest
    rows = page.locator("#board tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").first.inner_text().split()[0] for i in range(3)] == ["TSLA", "AAPL", "MSFT"]

    # when a scan brings a new ticker while the page is open
    saved_signals(signal_dict("NVDA", ff=0.9), signal_dict("NVDA", pair="60-90", ff=0.9))
    # then the table shows it without a reload, still filtered to the pair
    page.locator("#board tbody tr", has_text="NVDA").wait_for()
    assert rows.count() == 4
    assert set(page.locator("#board tbody td:nth-child(2)").all_inner_texts()) == {"30-60"}
    assert page.url == filtered

    # and a row opens the ticker's page
    assert page.get_by_role("link", name="NVDA").get_attribute("href") == "/tickers/NVDA/"
