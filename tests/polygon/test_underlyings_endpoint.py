"""PolygonClient.optionable_underlyings: the option-contracts reference of one monthly, every page."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from scanner.polygon import market_types
from scanner.polygon.errors import NotEntitledError, TransientError
from tests.polygon.conftest import API_KEY
from tests.polygon.fake_polygon import BASE_URL

CONTRACTS = f"{BASE_URL}/v3/reference/options/contracts"
MONTHLY = date(2026, 12, 18)


def contract(underlying: str, strike: float) -> dict:
    """One row as the vendor answers it (fields of the reference contracts endpoint)."""
    return {
        "cfi": "OCASPS",
        "contract_type": "call",
        "exercise_style": "american",
        "expiration_date": MONTHLY.isoformat(),
        "primary_exchange": "BATO",
        "shares_per_contract": 100,
        "strike_price": strike,
        "ticker": f"O:{underlying}261218C{int(strike * 1000):08d}",
        "underlying_ticker": underlying,
    }


def test_every_page_is_followed_and_the_underlyings_are_distinct(client, mocked):
    # given two pages chained by the vendor's next_url (a cursor, the key appended as the vendor does)
    cursor = "YXA9MTAwMCZhcz0mbGltaXQ9MTAwMA"
    mocked.get(
        CONTRACTS,
        json={
            "results": [contract("AAPL", 200), contract("AAPL", 205), contract("AMD", 140)],
            "status": "OK",
            "request_id": "a",
            "next_url": f"{CONTRACTS}?cursor={cursor}&apiKey={API_KEY}",
        },
    )
    page_two = {"results": [contract("AMD", 145), contract("BRK.B", 480), {"oops": 1}, "junk"], "status": "OK"}
    mocked.get(f"{CONTRACTS}?cursor={cursor}", json=page_two)
    seen: list[tuple[int, int]] = []

    # when
    found = client.optionable_underlyings(MONTHLY, progress=lambda pages, count: seen.append((pages, count)))

    # then the first request asks for the monthly's calls, 1,000 a page; the second follows the cursor
    assert found == {"AAPL", "AMD", "BRK.B"}
    first, second = (parse_qs(urlsplit(call.request.url).query) for call in mocked.calls)
    assert first == {
        "expiration_date": ["2026-12-18"],
        "contract_type": ["call"],
        "expired": ["false"],
        "limit": ["1000"],
    }
    assert second == {"cursor": [cursor]}
    assert seen == [(1, 2), (2, 3)]
    # and the key goes only in the Authorization header
    assert all(API_KEY not in call.request.url for call in mocked.calls)


def test_a_failing_page_fails_the_whole_listing(client, mocked, sleeps):
    # given a first page, then a second that keeps answering 503
    mocked.get(CONTRACTS, json={"results": [contract("AAPL", 200)], "next_url": f"{CONTRACTS}?cursor=abc"})
    mocked.get(f"{CONTRACTS}?cursor=abc", status=503, body="<html>503</html>")

    # when / then no partial list comes back
    with pytest.raises(TransientError):
        client.optionable_underlyings(MONTHLY)


def test_a_plan_without_options_reference_data_is_not_entitled(client, mocked):
    mocked.get(
        CONTRACTS,
        status=403,
        json={"status": "NOT_AUTHORIZED", "request_id": "x", "message": "You are not entitled to this data."},
    )
    with pytest.raises(NotEntitledError):
        client.optionable_underlyings(MONTHLY)


def test_rows_without_an_underlying_are_skipped():
    rows = [{"underlying_ticker": " msft "}, {"underlying_ticker": ""}, {"underlying_ticker": 7}, None, {}]
    assert market_types.underlying_tickers(rows) == {"MSFT"}
