"""The site's tests: each starts with empty rate-limit counters and a browser-free vendor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import need_service

PASSWORD = "Calendar-spread-42"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    # allauth counts sign-ups and logins per IP in the cache: one per test, empty, whatever REDIS_URL says.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "web-tests"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_vendor_calls(monkeypatch):
    """A page that reached for market data over HTTP fails the test (the vendor client is on requests)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a page called out over HTTP")

    monkeypatch.setattr("requests.Session.request", refuse)


@pytest.fixture
def trader(db):
    from testing.factories import user

    person = user("trader@example.com")
    person.set_password(PASSWORD)
    person.save()
    return person


@pytest.fixture
def trader_client(client, trader):
    client.force_login(trader)
    return client


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
