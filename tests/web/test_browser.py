"""The newcomer's path in a real browser (Debian's chromium driven by Playwright) against a live server:
sign up, open the verification link from the email, sign in, follow two tickers (one refused with its
reason), change the threshold, sign out; and no page breaks its Content-Security-Policy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from tests.conftest import need_service
from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Running as root in a container: no sandbox; no GPU, no background traffic, no first-run chores.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CONFIRM_LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_page(live_server):
    """A page of Debian's chromium (no browser is ever downloaded), with CSP violations collected.

    It needs the live server so that it closes first: the browser's kept-alive connections end before
    the server stops, and with them the server threads' database connections.

    Started and stopped within the test rather than by pytest-playwright's session-wide fixtures: a
    running Playwright keeps an event loop in the main thread, and Django refuses database calls from
    a thread with a running loop, so the loop must be gone before the next test touches the database.
    """
    if not CHROMIUM.exists():
        need_service(f"{CHROMIUM} is missing: apt-get install chromium (make test does it when run as root)")
    from playwright.sync_api import sync_playwright

    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on(
            "console",
            lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
        )
        page.set_default_timeout(15_000)
        # The test's own database calls run while Playwright's loop is alive in this thread. Django then
        # keeps their connection apart from the thread's (asgiref's Local is per context under a running
        # loop), so it is closed here, before the loop stops, or it would outlive the test database.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        try:
            yield page
        finally:
            connections.close_all()
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
            browser.close()
    assert violations == [], violations


def test_sign_up_verify_sign_in_follow_change_threshold_sign_out(live_server, browser_page):
    from accounts.models import AlertSettings, Subscription, User
    from scanner.models import OptionableUnderlying

    page = browser_page
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at=timezone.now())

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

    # when they sign out
    page.get_by_role("button", name="Sign out").click()
    # then the site offers to sign in again
    page.get_by_role("link", name="Sign in", exact=True).wait_for()
