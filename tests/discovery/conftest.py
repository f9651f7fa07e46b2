"""A mocked vendor for the discovery tests that go through the real REST client and provider."""

import json
import re
from datetime import UTC, datetime

import pytest
import responses

VENDOR = "http://vendor.test"
FRIDAY_ROWS = [
    {"T": "AAPL", "v": 50_000_000, "vw": 200.0, "o": 199, "h": 201, "l": 198, "c": 200.5, "t": 1, "n": 10},
    {"T": "NOOPT", "v": 90_000_000, "vw": 150.0, "o": 150, "h": 151, "l": 149, "c": 150.0, "t": 1, "n": 10},
    {"T": "MSFT", "v": 20_000_000, "vw": 400.0, "o": 399, "h": 401, "l": 398, "c": 400.0, "t": 1, "n": 10},
    {"T": "PENNY", "v": 900_000_000, "vw": 1.0, "o": 1, "h": 1, "l": 1, "c": 1.0, "t": 1, "n": 10},
    {"T": "SPY", "v": 60_000_000, "c": 550.0, "o": 549, "h": 551, "l": 548, "t": 1},
]
OPTIONABLE = {"AAPL", "MSFT", "SPY"}


@pytest.fixture
def vendor(settings, shared_state_reset):
    """The real client (from settings) against a mocked vendor whose market clock says Monday 2025-06-09 10:00 NY."""
    from forwardfactor.runtime import reset_market_provider
    from forwardfactor.shared_state import shared_redis
    from market.clock import set_clock_source

    settings.POLYGON_API_KEY = "test-key"
    settings.MARKET_SIMULATED = False
    settings.POLYGON_REST_URL = VENDOR
    reset_market_provider()
    shared_redis().flushdb()
    set_clock_source(lambda: datetime(2025, 6, 9, 14, 0, tzinfo=UTC))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for day in ("2025-06-06", "2025-06-05"):
            mock.get(
                f"{VENDOR}/v2/aggs/grouped/locale/us/market/stocks/{day}",
                json={"status": "OK", "resultsCount": len(FRIDAY_ROWS), "results": FRIDAY_ROWS},
            )

        def contracts(request):
            ticker = re.search(r"underlying_ticker=([A-Z]+)", request.url).group(1)
            results = (
                [{"ticker": f"O:{ticker}250620C00100000", "underlying_ticker": ticker}] if ticker in OPTIONABLE else []
            )
            return 200, {}, json.dumps({"status": "OK", "results": results})

        mock.add_callback(responses.GET, f"{VENDOR}/v3/reference/options/contracts", callback=contracts)
        yield mock
    set_clock_source(None)
    reset_market_provider()
