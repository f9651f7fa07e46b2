"""The vendor's REST endpoints on the simulator: shapes, paging, filters, auth and determinism."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketsim.server import MarketSimServer
from marketsim.session import NEW_YORK
from tests.marketsim.conftest import SESSION, follow, get

CHAIN = "/v3/snapshot/options/{}"
GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{}"
CONTRACTS = "/v3/reference/options/contracts"
STOCK = "/v2/snapshot/locale/us/markets/stocks/tickers/{}"


def test_same_seed_gives_the_same_answers():
    # given two servers from one seed with frozen clocks
    with (
        MarketSimServer(seed=3, speed=0, session_date=SESSION) as first,
        MarketSimServer(seed=3, speed=0, session_date=SESSION) as second,
    ):
        paths = [
            (CHAIN.format("AAPL"), {"limit": 250}),
            (GROUPED.format("2025-03-07"), {"adjusted": "true"}),
            (GROUPED.format(SESSION.isoformat()), {}),
            (STOCK.format("NVDA"), {}),
            (CONTRACTS, {"underlying_ticker": "TSLA", "limit": 1000}),
        ]
        # when / then (next_url names each server's own port)
        for path, params in paths:
            answers = [get(sim, path, **params).text.replace(sim.rest_url, "BASE") for sim in (first, second)]
            assert answers[0] == answers[1], path


def test_chain_snapshot_has_the_vendor_shape(frozen_sim):
    # when
    body = get(frozen_sim, CHAIN.format("AAPL"), limit=250).json()
    # then
    assert body["status"] == "OK" and body["request_id"] and len(body["results"]) == 250
    contract = next(c for c in body["results"] if "implied_volatility" in c and c["day"])
    assert set(contract) >= {
        "break_even_price",
        "day",
        "details",
        "greeks",
        "implied_volatility",
        "last_quote",
        "last_trade",
        "open_interest",
        "underlying_asset",
    }
    assert set(contract["details"]) == {
        "contract_type",
        "exercise_style",
        "expiration_date",
        "shares_per_contract",
        "strike_price",
        "ticker",
    }
    assert contract["details"]["ticker"].startswith("O:AAPL")
    quote = contract["last_quote"]
    assert 0 < quote["bid"] < quote["ask"] and quote["midpoint"] == pytest.approx((quote["bid"] + quote["ask"]) / 2)
    sim_now_ns = int(frozen_sim.now().timestamp() * 1e9)
    assert quote["last_updated"] <= sim_now_ns and contract["underlying_asset"]["last_updated"] == sim_now_ns
    assert any("implied_volatility" not in c for c in get(frozen_sim, CHAIN.format("SPY"), limit=250).json()["results"])


def test_chain_default_limit_is_ten_and_the_maximum_is_250(frozen_sim):
    # when
    default = get(frozen_sim, CHAIN.format("AAPL")).json()
    too_many = get(frozen_sim, CHAIN.format("AAPL"), limit=251)
    # then
    assert len(default["results"]) == 10
    assert too_many.status_code == 400 and too_many.json()["status"] == "ERROR"


def test_paging_follows_absolute_next_urls_to_every_contract(frozen_sim):
    # when
    first = get(frozen_sim, CHAIN.format("SPY"), limit=250).json()
    contracts = follow(frozen_sim, CHAIN.format("SPY"), limit=250)
    listed = follow(frozen_sim, CONTRACTS, underlying_ticker="SPY", limit=1000)
    # then
    next_url = urlsplit(first["next_url"])
    assert f"{next_url.scheme}://{next_url.netloc}" == frozen_sim.rest_url and "cursor" in parse_qs(next_url.query)
    tickers = [c["details"]["ticker"] for c in contracts]
    assert 8_000 <= len(tickers) == len(set(tickers)) == len(listed)
    assert tickers == sorted(tickers) == [c["ticker"] for c in listed]


def test_filters_select_expiry_window_strike_band_and_side(frozen_sim):
    # given
    params = {
        "expiration_date.gte": "2025-04-01",
        "expiration_date.lte": "2025-05-31",
        "strike_price.gte": 220,
        "strike_price.lt": 240,
        "contract_type": "put",
        "limit": 250,
    }
    # when
    contracts = follow(frozen_sim, CHAIN.format("AAPL"), **params)
    exact = follow(frozen_sim, CHAIN.format("AAPL"), expiration_date="2025-04-17", limit=250)
    # then
    assert contracts
    assert all("2025-04-01" <= c["details"]["expiration_date"] <= "2025-05-31" for c in contracts)
    assert all(220 <= c["details"]["strike_price"] < 240 and c["details"]["contract_type"] == "put" for c in contracts)
    assert exact and {c["details"]["expiration_date"] for c in exact} == {"2025-04-17"}


def test_sort_and_order(frozen_sim):
    # when
    by_strike = get(frozen_sim, CHAIN.format("AAPL"), sort="strike_price", order="desc", limit=50).json()["results"]
    # then
    strikes = [c["details"]["strike_price"] for c in by_strike]
    assert strikes == sorted(strikes, reverse=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    low=st.floats(100, 300),
    width=st.floats(0, 80),
    side=st.sampled_from([None, "call", "put"]),
    limit=st.integers(1, 250),
    days=st.integers(0, 120),
)
def test_paging_returns_exactly_the_filtered_set(frozen_sim, low, width, side, limit, days):
    # given a filter we do not control
    params = {
        "strike_price.gte": low,
        "strike_price.lte": low + width,
        "limit": limit,
        "expiration_date.lte": (SESSION + timedelta(days=days)).isoformat(),
    }
    if side:
        params["contract_type"] = side
    # when
    paged = follow(frozen_sim, CHAIN.format("AAPL"), **params)
    listed = follow(frozen_sim, CONTRACTS, underlying_ticker="AAPL", **{**params, "limit": 1000})
    # then
    assert [c["details"]["ticker"] for c in paged] == [c["ticker"] for c in listed]
    assert all(low <= c["details"]["strike_price"] <= low + width for c in paged)


def test_unknown_or_optionless_underlying_has_an_empty_chain(frozen_sim):
    # given
    optionless = next(p.symbol for p in frozen_sim.market.profiles.values() if not p.has_options)
    # when / then
    for symbol in ("NOSUCH", optionless):
        body = get(frozen_sim, CHAIN.format(symbol)).json()
        assert body["status"] == "OK" and body["results"] == [] and "next_url" not in body
        assert get(frozen_sim, CONTRACTS, underlying_ticker=symbol, limit=1).json()["results"] == []
    assert len(get(frozen_sim, CONTRACTS, underlying_ticker="AAPL", limit=1).json()["results"]) == 1


def test_rest_needs_a_key(frozen_sim):
    # when
    missing = requests.get(f"{frozen_sim.rest_url}/v1/marketstatus/now", timeout=5)
    query_key = requests.get(f"{frozen_sim.rest_url}/v1/marketstatus/now", params={"apiKey": "k"}, timeout=5)
    # then
    assert missing.status_code == 401 and missing.json()["status"] == "ERROR"
    assert query_key.status_code == 200


def test_grouped_daily_on_a_weekend_or_holiday_has_no_results_key(frozen_sim):
    # when
    for day in ("2025-03-08", "2025-07-04", "2025-03-11"):
        body = get(frozen_sim, GROUPED.format(day), adjusted="true").json()
        # then
        assert set(body) == {"status", "queryCount", "resultsCount", "adjusted", "request_id"}
        assert body["queryCount"] == body["resultsCount"] == 0 and body["status"] == "OK"


def test_grouped_daily_rows_and_otc_flag(frozen_sim):
    # when
    plain = get(frozen_sim, GROUPED.format("2025-03-07"), adjusted="true").json()
    with_otc = get(frozen_sim, GROUPED.format("2025-03-07"), adjusted="true", include_otc="true").json()
    # then
    row = plain["results"][0]
    assert set(row) == {"T", "v", "vw", "o", "h", "l", "c", "n", "t"}
    assert row["l"] <= min(row["o"], row["c"]) and row["h"] >= max(row["o"], row["c"])
    assert row["t"] == int(datetime(2025, 3, 7, 16, tzinfo=NEW_YORK).timestamp() * 1000)
    otc_rows = [r for r in with_otc["results"] if r.get("otc")]
    assert otc_rows and not any("otc" in r for r in plain["results"])
    assert with_otc["resultsCount"] == len(plain["results"]) + len(otc_rows)


def test_prices_agree_across_endpoints(frozen_sim):
    # when
    previous = {r["T"]: r for r in get(frozen_sim, GROUPED.format("2025-03-07")).json()["results"]}
    today = {r["T"]: r for r in get(frozen_sim, GROUPED.format(SESSION.isoformat())).json()["results"]}
    snapshot = get(frozen_sim, STOCK.format("AAPL")).json()["ticker"]
    chain = get(frozen_sim, CHAIN.format("AAPL"), limit=1).json()["results"][0]
    # then
    assert snapshot["prevDay"]["c"] == previous["AAPL"]["c"]
    assert snapshot["day"]["c"] == today["AAPL"]["c"] == chain["underlying_asset"]["price"]
    assert snapshot["lastTrade"]["p"] == chain["underlying_asset"]["price"]
    assert set(snapshot) >= {"day", "lastTrade", "lastQuote", "min", "prevDay", "ticker", "todaysChange", "updated"}


def test_unknown_stock_snapshot_is_not_found(frozen_sim):
    # when
    answer = get(frozen_sim, STOCK.format("NOSUCH"))
    # then
    assert answer.status_code == 404 and answer.json()["status"] == "NOT_FOUND"


def test_market_status_follows_the_sim_clock(fresh_sim):
    # given the clock 5 minutes after the open
    status = get(fresh_sim, "/v1/marketstatus/now").json()
    assert status["market"] == "open" and status["exchanges"]["nyse"] == "open"
    assert status["serverTime"] == "2025-03-10T09:35:00-04:00"
    # when the clock moves past the close, then past the end of after-hours trading
    fresh_sim.clock.set(datetime(2025, 3, 10, 17, tzinfo=NEW_YORK))
    after_close = get(fresh_sim, "/v1/marketstatus/now").json()
    fresh_sim.clock.set(datetime(2025, 3, 10, 21, tzinfo=NEW_YORK))
    night = get(fresh_sim, "/v1/marketstatus/now").json()
    # then
    assert after_close["market"] == "extended-hours" and after_close["afterHours"] is True
    assert night["market"] == "closed"


def test_injected_move_shows_in_later_answers(fresh_sim):
    # given
    before = get(fresh_sim, STOCK.format("MSFT")).json()["ticker"]["lastTrade"]["p"]
    # when
    move = fresh_sim.inject_move("MSFT", 2.0)
    # then
    after = get(fresh_sim, CHAIN.format("MSFT"), limit=1).json()["results"][0]["underlying_asset"]["price"]
    assert move["price_before"] == before
    assert after == move["price_after"] == pytest.approx(before * 1.02, abs=0.01)


def test_added_scenario_ticker_is_served_everywhere(fresh_sim):
    # when
    fresh_sim.add_ticker("FAKE1", price=80.0, volume=3_000_000, has_options=True, ff_bump=0.4)
    fresh_sim.add_ticker("FAKE2", price=12.0, volume=900_000, has_options=False)
    # then
    assert get(fresh_sim, CHAIN.format("FAKE1"), limit=5).json()["results"]
    assert get(fresh_sim, CHAIN.format("FAKE2")).json()["results"] == []
    rows = {r["T"] for r in get(fresh_sim, GROUPED.format("2025-03-07")).json()["results"]}
    assert {"FAKE1", "FAKE2"} <= rows


def test_control_surface_over_http(fresh_sim):
    # when
    base = f"{fresh_sim.rest_url}/_sim"
    added = requests.get(f"{base}/add_ticker", params={"symbol": "FAKE3", "price": 40, "ff_bump": 0.3}, timeout=5)
    moved = requests.get(f"{base}/move", params={"ticker": "FAKE3", "pct": -1.5}, timeout=5).json()
    faults = requests.get(f"{base}/faults", params={"latency_ms": 5, "repeat_cursor": "true"}, timeout=5).json()
    clock = requests.get(f"{base}/clock", params={"advance": 600}, timeout=5).json()
    stats = requests.get(f"{base}/stats", timeout=5).json()
    bad = requests.get(f"{base}/faults", params={"latency_ms": "soon"}, timeout=5)
    # then
    assert added.json()["symbol"] == "FAKE3"
    assert moved["price_after"] == pytest.approx(moved["price_before"] * 0.985, abs=0.01)
    assert faults["latency_ms"] == 5 and faults["repeat_cursor"] is True
    assert clock["now"].startswith("2025-03-10T09:45:00")
    assert stats["moves_injected"] == 1 and stats["control_requests"] >= 4
    assert bad.status_code == 400 and "latency_ms" in bad.json()["error"]
