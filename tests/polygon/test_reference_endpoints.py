"""Grouped daily by NYSE session, has_listed_options with its week-long cache, market status."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.polygon import market_types
from scanner.polygon.errors import MalformedResponseError
from tests.polygon.fake_polygon import BASE_URL

GROUPED = f"{BASE_URL}/v2/aggs/grouped/locale/us/market/stocks"
NO_RESULTS = {"status": "OK", "queryCount": 0, "resultsCount": 0, "adjusted": True, "request_id": "r"}
ROW = {"T": "GIK", "v": 895345, "vw": 9.9979, "o": 9.99, "c": 10.02, "h": 10.02, "l": 9.9, "t": 1602705600000, "n": 96}


@pytest.mark.parametrize(
    ("asked", "served"),
    [
        (date(2024, 7, 6), date(2024, 7, 5)),  # Saturday -> Friday
        (date(2024, 7, 4), date(2024, 7, 3)),  # Independence Day -> the day before
        (date(2024, 12, 25), date(2024, 12, 24)),  # Christmas (an early close is still a session)
        (date(2024, 7, 8), date(2024, 7, 8)),  # a Monday session
    ],
)
def test_grouped_daily_asks_for_the_last_nyse_session(client, mocked, asked, served):
    # given
    mocked.get(f"{GROUPED}/{served.isoformat()}", json={"results": [ROW]})

    # when
    grouped = client.grouped_daily(asked)

    # then exactly one request, for the session, and the session is reported
    assert len(mocked.calls) == 1
    assert grouped.session == served and grouped.requested == asked
    assert grouped.bars[0].ticker == "GIK" and grouped.bars[0].close == 10.02


def test_a_session_answered_without_results_falls_back_to_the_one_before(client, mocked):
    # given Monday not yet published
    mocked.get(f"{GROUPED}/2024-07-08", json=NO_RESULTS)
    mocked.get(f"{GROUPED}/2024-07-05", json={"results": [ROW]})

    # when
    grouped = client.grouped_daily(date(2024, 7, 8))

    # then
    assert grouped.session == date(2024, 7, 5) and len(grouped.bars) == 1


def test_no_data_at_all_answers_no_bars(client, mocked):
    # given
    for day in ("2024-07-08", "2024-07-05", "2024-07-03"):
        mocked.get(f"{GROUPED}/{day}", json=NO_RESULTS)

    # when
    grouped = client.grouped_daily(date(2024, 7, 8))

    # then
    assert grouped.bars == () and grouped.session == date(2024, 7, 8)


def test_grouped_rows_with_missing_optional_fields(client, mocked):
    # given rows without vw / n, without a close, without a ticker
    rows = [{"T": "A", "c": 5.0, "v": 10}, {"T": "B", "v": 1}, {"c": 1.0}, {"T": "C", "c": 2.0}]
    mocked.get(f"{GROUPED}/2024-07-05", json={"results": rows})

    # when
    bars = client.grouped_daily(date(2024, 7, 5)).bars

    # then
    assert [bar.ticker for bar in bars] == ["A", "C"]
    assert math.isnan(bars[0].vwap) and bars[0].trades == 0 and bars[0].dollar_volume == 50.0
    assert bars[1].volume == 0.0


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(list(ROW)), st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
        )
    )
)
@settings(max_examples=200, deadline=None)
def test_any_grouped_rows_parse_without_crashing(rows):
    bars = market_types.daily_bars(rows)
    assert all(isinstance(bar.ticker, str) and math.isfinite(bar.close) for bar in bars)


def test_has_listed_options_is_cached_for_a_week(client, mocked):
    # given
    url = f"{BASE_URL}/v3/reference/options/contracts"
    mocked.get(url, json={"results": [{"ticker": "O:AAPL250117C00150000"}], "status": "OK"})

    # when
    first, second = client.has_listed_options("aapl"), client.has_listed_options("AAPL")

    # then
    assert first is True and second is True
    assert len(mocked.calls) == 1
    assert "underlying_ticker=AAPL" in mocked.calls[0].request.url and "limit=1" in mocked.calls[0].request.url
    assert 6 * 86400 < client.cache.ttl("ff:polygon:has_options:AAPL") <= 7 * 86400


def test_a_ticker_without_contracts_has_no_options(client, mocked):
    mocked.get(f"{BASE_URL}/v3/reference/options/contracts", json={"status": "OK", "results": []})
    assert client.has_listed_options("BRK.A") is False


def test_market_status_is_the_providers_clock(client, mocked):
    # given
    body = {"market": "extended-hours", "serverTime": "2020-11-10T17:37:37-05:00", "afterHours": True}
    mocked.get(f"{BASE_URL}/v1/marketstatus/now", json=body)

    # when
    status = client.market_status()

    # then
    assert status.server_time.isoformat() == "2020-11-10T22:37:37+00:00"
    assert status.market == "extended-hours" and status.after_hours and not status.early_hours


def test_market_status_without_a_clock_is_malformed(client, mocked):
    mocked.get(f"{BASE_URL}/v1/marketstatus/now", json={"market": "open"})
    with pytest.raises(MalformedResponseError, match="serverTime"):
        client.market_status()
