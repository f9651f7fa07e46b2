"""PolygonClient.earnings: the vendor's Benzinga earnings calendar read into EarningsDate."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from responses import matchers

from scanner.polygon import market_types
from scanner.polygon.errors import NotEntitledError
from scanner.polygon.market_types import EarningsDate, TimeOfDay
from tests.polygon.fake_polygon import BASE_URL

EARNINGS = f"{BASE_URL}/benzinga/v1/earnings"
SAMPLE = json.loads((Path(__file__).parent / "samples" / "benzinga-earnings.json").read_text())
FROM, TO = date(2025, 1, 2), date(2025, 5, 2)


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_a_vendor_answer_and_its_next_page_become_earnings_dates(client, mocked):
    # given the vendor's sample page (its next_url names the vendor's host) and a last page
    cursor = parse_qs(urlsplit(SAMPLE["next_url"]).query)["cursor"][0]
    last = {
        "status": "OK",
        "request_id": "r2",
        "results": [{"ticker": "NVDA", "date": "2025-02-26", "time": "16:20:00"}],
    }
    mocked.get(EARNINGS, json=last, match=[matchers.query_param_matcher({"cursor": cursor}, strict_match=False)])
    mocked.get(EARNINGS, json=SAMPLE)

    # when
    found = client.earnings(["aapl", "MSFT", "PG", "EXMP", "NVDA"], FROM, TO)

    # then both pages are read, sorted by ticker and date, with time of day and status
    assert found == [
        EarningsDate("AAPL", date(2025, 1, 30), TimeOfDay.AFTER_CLOSE, True),
        EarningsDate("EXMP", date(2025, 4, 24), TimeOfDay.UNKNOWN, False),  # no time: unknown; projected
        EarningsDate("MSFT", date(2025, 1, 29), TimeOfDay.AFTER_CLOSE, True),
        EarningsDate("NVDA", date(2025, 2, 26), TimeOfDay.AFTER_CLOSE, False),  # no date_status: not confirmed
        EarningsDate("PG", date(2025, 1, 22), TimeOfDay.BEFORE_OPEN, True),
    ]
    first, second = mocked.calls
    assert query(first)["ticker.any_of"] == ["AAPL,EXMP,MSFT,NVDA,PG"]
    assert (query(first)["date.gte"], query(first)["date.lte"]) == (["2025-01-02"], ["2025-05-02"])
    assert query(first)["sort"] == ["date.asc"]
    assert urlsplit(second.request.url).netloc == urlsplit(BASE_URL).netloc  # never the vendor host named in next_url


def test_one_ticker_is_asked_with_ticker_and_many_in_batches_of_50(client, mocked):
    # given an empty calendar
    mocked.get(EARNINGS, json={"status": "OK", "request_id": "r", "results": []})

    # when one ticker, then 120 tickers are asked for
    assert client.earnings(["AAPL"], FROM, TO) == []
    client.earnings([f"T{i:03d}" for i in range(120)], FROM, TO)

    # then one request names the ticker; the others carry 50, 50 and 20 tickers
    single, *batches = mocked.calls
    assert query(single)["ticker"] == ["AAPL"] and "ticker.any_of" not in query(single)
    assert [len(query(call)["ticker.any_of"][0].split(",")) for call in batches] == [50, 50, 20]


def test_no_tickers_asks_nothing(client, mocked):
    assert client.earnings([], FROM, TO) == []
    assert len(mocked.calls) == 0


def test_rows_of_other_tickers_or_outside_the_window_are_left_out(client, mocked):
    # given the vendor answers more than was asked
    rows = [
        {"ticker": "AAPL", "date": "2025-01-30", "time": "16:30:00", "date_status": "confirmed"},
        {"ticker": "AAPL", "date": "2025-06-30"},
        {"ticker": "ZZZ", "date": "2025-01-30"},
    ]
    mocked.get(EARNINGS, json={"status": "OK", "results": rows})

    # then only the asked ticker inside the window is kept
    assert [(row.ticker, row.date) for row in client.earnings(["AAPL"], FROM, TO)] == [("AAPL", date(2025, 1, 30))]


def test_a_plan_without_earnings_raises_not_entitled_once(client, mocked):
    # given a plan without the Benzinga add-on
    body = {"status": "NOT_AUTHORIZED", "request_id": "r", "message": "You are not entitled to this data."}
    mocked.get(EARNINGS, json=body, status=403)

    # when / then: not retried
    with pytest.raises(NotEntitledError, match="403 NOT_AUTHORIZED"):
        client.earnings(["AAPL", "MSFT"], FROM, TO)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06:00:00", TimeOfDay.BEFORE_OPEN),
        ("09:29:59", TimeOfDay.BEFORE_OPEN),
        ("09:30:00", TimeOfDay.DURING),
        ("12:00:00", TimeOfDay.DURING),
        ("15:59:59", TimeOfDay.DURING),
        ("16:00:00", TimeOfDay.AFTER_CLOSE),
        ("16:30:00", TimeOfDay.AFTER_CLOSE),
        ("00:00:00", TimeOfDay.UNKNOWN),  # a time not given
        ("", TimeOfDay.UNKNOWN),
        ("after close", TimeOfDay.UNKNOWN),
        (None, TimeOfDay.UNKNOWN),
        (1630, TimeOfDay.UNKNOWN),
    ],
)
def test_time_of_day_against_the_session(raw, expected):
    assert market_types.time_of_day(raw) == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
ROWS = st.dictionaries(
    st.sampled_from(["ticker", "date", "time", "date_status", "fiscal_period", "importance"]),
    JSON_VALUES | st.sampled_from(["AAPL", "2025-01-30", "16:30:00", "confirmed", "projected", "2025-02-30"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROWS | JSON_VALUES, max_size=8))
def test_junk_rows_are_skipped_never_raised(rows):
    # when any rows at all are read
    found = market_types.earnings_dates(rows)

    # then every row kept had a ticker and a real date, and nothing else was invented
    readable = [
        row
        for row in rows
        if isinstance(row, dict)
        and isinstance(row.get("ticker"), str)
        and row["ticker"].strip()
        and isinstance(row.get("date"), str)
        and _is_date(row["date"])
    ]
    assert len(found) == len(readable)
    for row, earnings in zip(readable, found):
        assert earnings.ticker == row["ticker"].strip().upper()
        assert earnings.confirmed is (row.get("date_status") == "confirmed")


def _is_date(raw: str) -> bool:
    try:
        date.fromisoformat(raw.strip())
    except ValueError:
        return False
    return True
