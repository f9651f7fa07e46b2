"""Which market a process uses: Polygon with a key, a given URL without one, else an embedded simulator."""

from __future__ import annotations

import pytest

from forwardfactor.runtime import SIMULATED_API_KEY, market_provider, reset_market_provider


@pytest.fixture
def fresh_provider(shared_state_reset):
    reset_market_provider()
    yield
    reset_market_provider()


def test_a_key_means_polygon_and_no_simulator(settings, fresh_provider):
    # given
    settings.POLYGON_API_KEY = "real-key"
    settings.MARKET_SIMULATED = False
    settings.POLYGON_REST_URL = "https://api.polygon.io"

    # when
    provider = market_provider()

    # then
    assert not provider.simulated and provider.simulator is None
    assert provider.client.base_url == "https://api.polygon.io"
    assert "real-key" not in repr(provider) and "real-key" not in repr(provider.client)


def test_no_key_and_a_url_uses_that_market(settings, fresh_provider):
    # given a running `manage.py marketsim` elsewhere
    settings.MARKET_SIMULATED = True
    settings.POLYGON_REST_URL = "http://127.0.0.1:8765"
    settings.POLYGON_WS_URL = "wss://socket.polygon.io/stocks"

    # when
    provider = market_provider()

    # then
    assert provider.simulated and provider.simulator is None
    assert provider.rest_url == "http://127.0.0.1:8765" and provider.ws_url == "ws://127.0.0.1:8765/stocks"
    assert provider.api_key == SIMULATED_API_KEY


def test_no_key_and_no_url_starts_one_embedded_market(settings, fresh_provider):
    # given the embedded defaults
    settings.MARKET_SIMULATED = True
    settings.POLYGON_REST_URL = "https://api.polygon.io"

    # when
    first, second = market_provider(), market_provider()

    # then one simulator, on loopback, answering
    assert first.simulator is not None and second is first
    assert first.rest_url.startswith("http://127.0.0.1:") and first.ws_url.startswith("ws://127.0.0.1:")
    assert first.client.market_status().server_time is not None
