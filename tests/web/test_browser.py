"""The newcomer's path in a real browser (Debian's chromium driven by Playwright) against a live server:
sign up, open the verification link from the email, sign in, follow two tickers (one refused with its
reason), change the threshold, see the followed ticker first on the board, open its page with both charts
drawn, sign out; and no page breaks its Content-Security-Policy. The board's picture in the README is
taken here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from testing.factories import saved_signals, signal_dict
from tests.web.conftest import PASSWORD
from tests.web.history import LAST, store_scans

CONFIRM_LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/")

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_sign_up_verify_sign_in_follow_change_threshold_see_the_board_and_a_ticker_page_sign_out(
    live_server, browser_page
):
    from accounts.models import AlertSettings, Subscription, User
    from scanner.models import OptionableUnderlying

    page = browser_page
    page.set_viewport_size({"width": 1200, "height": 900})
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at=timezone.now())
    # scans have run: AAPL's history, and stronger signals of two tickers the newcomer will not follow
    store_scans("AAPL")
    for ticker, ff in (("MSFT", 0.62), ("NVDA", 0.48)):
        saved_signals(*(signal_dict(ticker, pair=pair, ff=ff, as_of=LAST) for pair in ("30-60", "30-90", "60-90")))

    # when a newcomer signs up
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("input[name=email]", "browser@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    # then they are asked to confirm their address, and the email holds the link
    page.wait_for_url("**/accounts/confirm-email/")
    (message,) = mail.outbox
    link = CONFIRM_LINK.search(message.body).group(0)

    # when they open the link and confirm
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    # then they are sent to sign in
    page.wait_for_url("**/accounts/login/")
    assert User.objects.with_verified_email().filter(email="browser@example.com").exists()

    # when they sign in
    page.fill("input[name=login]", "browser@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/me/tickers/")

    # and follow a known ticker and an unknown one
    page.fill("textarea[name=tickers]", "aapl, NOPE")
    page.get_by_role("button", name="Follow", exact=True).click()
    # then the known one is followed and the unknown one refused with its reason
    page.get_by_text("not an optionable US underlying we know").wait_for()
    assert "NOPE" in page.locator(".refused").inner_text()
    assert page.get_by_role("link", name="AAPL").is_visible()
    trader = User.objects.get(email="browser@example.com")
    assert list(Subscription.objects.filter(user=trader).values_list("ticker", flat=True)) == ["AAPL"]

    # when they raise their FF threshold
    page.get_by_role("link", name="Settings").click()
    page.fill("input[name=ff_threshold]", "0.35")
    page.get_by_role("button", name="Save settings").click()
    # then it is saved
    page.get_by_text("Settings saved.").wait_for()
    assert AlertSettings.objects.get(user=trader).ff_threshold == 0.35

    # when they open the board
    page.get_by_role("link", name="Signals").click()
    page.wait_for_url("**/signals/")
    # then their ticker comes first, above stronger signals of tickers they do not follow
    first_cells = page.locator("#board tbody tr td:first-child").all_inner_texts()
    tickers = [cell.split()[0] for cell in first_cells]
    assert tickers[0] == "AAPL" and {"MSFT", "NVDA"} <= set(tickers)
    assert tickers.index("MSFT") > max(i for i, ticker in enumerate(tickers) if ticker == "AAPL")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "board.png"))

    # when they open its page from a row
    page.locator("#board tbody tr").first.get_by_role("link", name="AAPL").click()
    page.wait_for_url("**/tickers/AAPL/")
    # then both charts are drawn with data points
    page.wait_for_function("document.querySelectorAll('[data-chart][data-points]').length === 2")
    for chart in ("#term-chart", "#history-chart"):
        assert int(page.locator(chart).get_attribute("data-points")) > 0

    # when they sign out
    page.get_by_role("button", name="Sign out").click()
    # then the site offers to sign in again
    page.get_by_role("link", name="Sign in", exact=True).wait_for()
