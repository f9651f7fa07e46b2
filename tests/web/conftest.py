"""The site's tests: each starts with empty rate-limit counters and a browser-free vendor."""

from __future__ import annotations

import pytest

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
