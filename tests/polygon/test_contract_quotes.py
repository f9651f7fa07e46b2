"""A few contracts' quotes for marking positions: the filtered request, and rows read defensively."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st
from responses import matchers

from scanner.polygon.market_types import ContractQuote, contract_quotes
from tests.polygon.fake_polygon import BASE_URL

SNAPSHOT = f"{BASE_URL}/v3/snapshot/options/AAPL"
NS = 1_749_150_000_000_000_000


def row(kind="call", expiry="2030-01-18", strike=150, bid=1.0, ask=1.2, **quote) -> dict:
    return {
        "details": {"contract_type": kind, "expiration_date": expiry, "strike_price": strike, "ticker": "O:X"},
        "last_quote": {"bid": bid, "ask": ask, "last_updated": NS, **quote},
    }


def test_one_filtered_request_per_expiry_and_band(client, mocked):
    mocked.get(
        SNAPSHOT,
        match=[
            matchers.query_param_matcher(
                {
                    "limit": "250",
                    "expiration_date": "2030-01-18",
                    "strike_price.gte": "145",
                    "strike_price.lte": "152.5",
                    "contract_type": "call",
                }
            )
        ],
        json={"results": [row(strike=145), row(strike=152.5, bid=0.4, ask=0.5)]},
    )
    quotes, requests = client.contract_quotes("AAPL", date(2030, 1, 18), 145.0, 152.5, "call")
    assert requests == 1 == len(mocked.calls)
    assert quotes[1] == ContractQuote("call", date(2030, 1, 18), 152.5, 0.4, 0.5, datetime.fromtimestamp(NS / 1e9, UTC))
    assert quotes[1].mid == 0.45


def test_rows_without_a_usable_quote_are_left_out():
    rows = [
        row(),
        row(bid=0),
        row(bid=1.3, ask=1.2),  # crossed
        row(bid=None),
        row(kind="future"),
        row(expiry="soon"),
        {"details": {"contract_type": "put", "expiration_date": "2030-01-18", "strike_price": 150}},
        "not a row",
    ]
    assert [(q.contract_type, q.strike, q.bid) for q in contract_quotes(rows)] == [("call", 150.0, 1.0)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(json_values | st.builds(row, bid=json_values, ask=json_values, strike=json_values), max_size=6))
def test_any_rows_give_only_well_formed_quotes(rows):
    for quote in contract_quotes(rows):
        assert quote.contract_type in ("call", "put") and quote.strike > 0 and 0 < quote.bid <= quote.ask
