"""The simulated market across trading days: prices and IVs carry over, expiries age, a day is the same
whether reached by advancing or started directly, and the REST answers follow the new day."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from marketsim.days import LONG_RUN_TERM_SLOPE, term_state
from marketsim.market import Market
from marketsim.server import MarketSimServer
from marketsim.session import NEW_YORK, at_new_york, next_session, sessions_from
from marketsim.universe import build_universe
from tests.marketsim.conftest import SESSION, follow, get

CHAIN = "/v3/snapshot/options/{}"
CONTRACTS = "/v3/reference/options/contracts"
EARNINGS = "/benzinga/v1/earnings"
SNAPSHOT = "/v2/snapshot/locale/us/markets/stocks/tickers/{}"
GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{}"
DAY2, DAY3, DAY4 = sessions_from(SESSION, 4)[1:]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return at_new_york(day, hour, minute)


def quotes(sim: MarketSimServer, symbol: str, expiry: date, strike: float) -> dict[str, dict]:
    """The chain snapshot's contracts at one (expiry, strike), by ticker."""
    rows = get(sim, CHAIN.format(symbol), expiration_date=expiry.isoformat(), strike_price=strike, limit=10).json()
    return {row["details"]["ticker"]: row for row in rows["results"]}


def atm_iv(sim: MarketSimServer, symbol: str, expiry: date) -> float:
    """The call IV at the strike nearest the spot (from the REST snapshot, as a client reads it)."""
    calls = follow(sim, CHAIN.format(symbol), expiration_date=expiry.isoformat(), contract_type="call", limit=250)
    spot = calls[0]["underlying_asset"]["price"]
    quoted = [c for c in calls if "implied_volatility" in c]
    return min(quoted, key=lambda c: abs(c["details"]["strike_price"] - spot))["implied_volatility"]


def nearest(expiries: list[date], day: date, dte: int) -> date:
    return min(expiries, key=lambda expiry: abs((expiry - day).days - dte))


def test_the_price_path_continues_across_the_day_boundary():
    # given day 1 read at the end of its tape
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        sim.clock.set(at(SESSION, 16))
        at_close = {s: get(sim, SNAPSHOT.format(s)).json()["ticker"]["lastTrade"]["p"] for s in ("AAPL", "SPY", "F")}
        sim.clock.set(at(SESSION, 20))
        whole_day = {row["T"]: row for row in get(sim, GROUPED.format(SESSION)).json()["results"]}
        # when the market moves to day 2
        info = sim.next_session()
        day2 = {s: get(sim, SNAPSHOT.format(s)).json()["ticker"] for s in ("AAPL", "SPY", "F")}
        day1_again = {row["T"]: row for row in get(sim, GROUPED.format(SESSION)).json()["results"]}
    # then day 2 opens near day 1's close, and day 1 stays the bar it was
    assert info["session_date"] == DAY2.isoformat() and info["now"] == "2025-03-11T09:35:00-04:00"
    for symbol, ticker in day2.items():
        previous = whole_day[symbol]
        assert ticker["prevDay"]["c"] == previous["c"] and ticker["prevDay"]["o"] == previous["o"]
        assert abs(math.log(ticker["day"]["o"] / at_close[symbol])) < 0.03
    assert day1_again == whole_day


def test_an_event_names_front_iv_collapses_after_its_event():
    # given the run's first event name and the expiries around its event
    market = Market(7, SESSION)
    events = {s: market.event(s)[0] for s in market.symbols() if math.isfinite(market.event(s)[0])}
    symbol = min(events, key=events.get)
    event_day = datetime.fromtimestamp(events[symbol], NEW_YORK).date()
    run = sessions_from(SESSION, 15)
    before_event = run[run.index(event_day) - 1]
    assert before_event > SESSION  # an event is set at least two days after the run's first session
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        expiries = sim.market.listing(symbol).expiries
        front = min(e for e in expiries if e > event_day + timedelta(days=7))
        back = nearest(expiries, SESSION, 90)
        reported = get(sim, EARNINGS, ticker=symbol).json()["results"]
        # when the market plays up to the close before the event, then the event's session
        sim.advance_to(before_event, at=time(15, 55))
        front_before, back_before = atm_iv(sim, symbol, front), atm_iv(sim, symbol, back)
        sim.advance_to(event_day)
        front_after, back_after = atm_iv(sim, symbol, front), atm_iv(sim, symbol, back)
        reported_after = get(sim, EARNINGS, ticker=symbol).json()["results"]
    # then the front month lost its event premium; the back month, where the event weighs less, less so
    assert front_after < 0.85 * front_before
    assert 1 - front_after / front_before > 1.5 * (1 - back_after / back_before)
    assert front_before > back_before
    assert [r["date"] for r in reported_after] == [r["date"] for r in reported] != []


def test_a_calendar_spreads_legs_are_quoted_on_consecutive_days_under_the_same_tickers():
    # given an at-the-money call calendar on AAPL, 30 and 60 days out
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        listing = sim.market.listing("AAPL")
        front, back = nearest(listing.expiries, SESSION, 30), nearest(listing.expiries, SESSION, 60)
        spot = sim.market.spot("AAPL", sim.clock.epoch())
        strike = float(listing.strike[np.argmin(np.abs(listing.strike - spot))])
        legs = [quotes(sim, "AAPL", front, strike), quotes(sim, "AAPL", back, strike)]
        # when the market moves on three sessions, reading the legs each day
        days = []
        for _ in range(3):
            sim.next_session()
            days.append([quotes(sim, "AAPL", front, strike), quotes(sim, "AAPL", back, strike)])
    # then the same four contracts are quoted every day, at prices that moved
    tickers = [sorted(leg) for leg in legs]
    assert all(len(leg) == 2 for leg in tickers)
    for day in days:
        assert [sorted(leg) for leg in day] == tickers
        assert all(0 < c["last_quote"]["bid"] < c["last_quote"]["ask"] for leg in day for c in leg.values())
    mids = [[c["last_quote"]["midpoint"] for leg in day for c in leg.values()] for day in [legs, *days]]
    assert len({tuple(m) for m in mids}) == 4


@pytest.mark.parametrize("symbol", ["SPY", "AAPL", "F"])
def test_expired_contracts_vanish_and_every_other_contract_stays_listed(symbol):
    # given a Friday's listing (weeklies and dailies expire on it) and the next session's
    friday = date(2025, 3, 14)
    before = Market(7, friday, first_session=SESSION)
    after = before.advanced(next_session(friday))
    old, new = before.listing(symbol), after.listing(symbol)
    old_expiry = {old.occ_ticker(row): old.expiry[row].item() for row in range(len(old))}
    new_tickers = {new.occ_ticker(row) for row in range(len(new))}
    # then Friday's contracts are gone, every later one is still listed under its ticker
    assert friday in old.expiries and friday not in new.expiries and min(new.expiries) > friday
    assert {ticker for ticker, expiry in old_expiry.items() if expiry > friday} <= new_tickers
    assert not {ticker for ticker, expiry in old_expiry.items() if expiry <= friday} & new_tickers
    if symbol == "SPY":  # the dailies roll on: a new expiry ten weekdays out
        assert set(new.expiries) - set(old.expiries)


def answer(sim: MarketSimServer, path: str, params: dict) -> dict:
    """The JSON answer with next_url's host (the server's own port) left out."""
    body = get(sim, path, **params).json()
    if "next_url" in body:
        body["next_url"] = body["next_url"].removeprefix(sim.rest_url)
    return body


def test_a_day_reached_by_advancing_equals_the_day_started_directly():
    # given a run advanced three sessions, and one started on that session with the same first session
    paths = [
        (CHAIN.format("AAPL"), {"limit": 250}),
        (CHAIN.format("SPY"), {"limit": 100, "expiration_date": DAY4.isoformat()}),
        (SNAPSHOT.format("NVDA"), {}),
        (GROUPED.format(DAY3), {}),
        (GROUPED.format(DAY4), {}),
        (CONTRACTS, {"underlying_ticker": "TSLA", "limit": 1000}),
        (EARNINGS, {"limit": 100}),
    ]
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as walked:
        get(walked, CHAIN.format("AAPL"))  # touched on day 1: its close is carried, not recomputed
        for _ in range(3):
            walked.next_session()
        walked.clock.set(at(DAY4, 11))
        by_walking = [answer(walked, path, params) for path, params in paths]
    with MarketSimServer(seed=7, speed=0, session_date=DAY4, first_session=SESSION, start_at=at(DAY4, 11)) as direct:
        directly = [answer(direct, path, params) for path, params in paths]
    with MarketSimServer(seed=8, speed=0, session_date=DAY4, first_session=SESSION, start_at=at(DAY4, 11)) as other:
        other_seed = get(other, SNAPSHOT.format("NVDA")).json()
    # then
    assert by_walking == directly
    assert all(answer.get("results", answer.get("ticker")) for answer in directly)
    assert other_seed["ticker"]["lastTrade"]["p"] != directly[2]["ticker"]["lastTrade"]["p"]


def test_the_rest_endpoints_answer_for_the_new_day_after_advancing():
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        earnings_before = get(sim, EARNINGS, limit=100).json()["results"]
        # when the control surface moves the market to day 3 at 10:00
        moved = get(sim, "/_sim/advance", to=DAY3.isoformat(), at="10:00")
        backwards = get(sim, "/_sim/advance", to=SESSION.isoformat())
        status = get(sim, "/v1/marketstatus/now").json()
        today = get(sim, GROUPED.format(DAY3)).json()
        yesterday = get(sim, GROUPED.format(DAY2)).json()
        tomorrow = get(sim, GROUPED.format(DAY4)).json()
        contracts = follow(sim, CONTRACTS, underlying_ticker="AAPL", limit=1000)
        chain = follow(sim, CHAIN.format("AAPL"), limit=250)
        earnings_after = get(sim, EARNINGS, limit=100).json()["results"]
    # then
    assert moved.status_code == 200 and moved.json()["session_date"] == DAY3.isoformat()
    assert backwards.status_code == 400
    assert status["serverTime"] == "2025-03-12T10:00:00-04:00" and status["market"] == "open"
    assert today["resultsCount"] > 500 and yesterday["resultsCount"] == today["resultsCount"]
    assert tomorrow["resultsCount"] == 0
    assert min(c["expiration_date"] for c in contracts) >= DAY3.isoformat()
    assert [c["details"]["ticker"] for c in chain] == [c["ticker"] for c in contracts]
    assert len({c["underlying_asset"]["price"] for c in chain}) == 1
    assert [(r["ticker"], r["date"]) for r in earnings_after] == [(r["ticker"], r["date"]) for r in earnings_before]
    assert {r["last_updated"][:10] for r in earnings_after} == {DAY3.isoformat()}


def test_a_run_with_a_last_session_rolls_to_the_next_open_at_each_close():
    with MarketSimServer(seed=7, speed=0, session_date=SESSION, last_session=DAY4) as sim:
        # when the clock passes day 1's close, then is set into day 3's afternoon, then past day 4's close
        get(sim, "/_sim/clock", at=at(SESSION, 16, 1).isoformat())
        rolled = get(sim, "/_sim/clock").json()
        get(sim, "/_sim/clock", at=at(DAY3, 14).isoformat())
        walked = get(sim, "/_sim/clock").json()
        get(sim, "/_sim/clock", at=at(DAY4, 17).isoformat())
        kept = get(sim, "/_sim/clock").json()
        grouped_day3 = get(sim, GROUPED.format(DAY3)).json()
    # then
    assert rolled["session_date"] == DAY2.isoformat() and rolled["now"] == "2025-03-11T09:35:00-04:00"
    assert rolled["first_session"] == SESSION.isoformat() and rolled["last_session"] == DAY4.isoformat()
    assert walked["session_date"] == DAY3.isoformat() and walked["now"] == "2025-03-12T14:00:00-04:00"
    assert kept["session_date"] == DAY4.isoformat() and kept["market"] == "extended-hours"
    assert grouped_day3["resultsCount"] > 500


def test_a_scenario_ticker_added_mid_run_carries_to_the_next_day():
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        sim.next_session()
        sim.add_ticker("FAKE1", price=80.0, ff_bump=0.4)
        sim.inject_move("FAKE1", 10.0)
        sim.clock.set(at(DAY2, 20))
        closing = get(sim, SNAPSHOT.format("FAKE1")).json()["ticker"]["day"]["c"]
        sim.next_session()
        ticker = get(sim, SNAPSHOT.format("FAKE1")).json()["ticker"]
        chain = get(sim, CHAIN.format("FAKE1"), limit=5).json()["results"]
    # then the move is in yesterday's close and today's price starts from it
    assert ticker["prevDay"]["c"] == closing and closing > 80.0 * 1.05
    assert abs(math.log(ticker["day"]["o"] / closing)) < 0.03 and chain


def test_term_structures_mean_revert_over_days():
    # given every optionable profile and 30 sessions
    profiles = [p for p in build_universe(7).values() if p.has_options]
    days = sessions_from(SESSION, 30)
    # when
    slopes = np.array([term_state(7, p, days)[0] for p in profiles])
    levels = np.array([term_state(7, p, days)[1] for p in profiles])
    start = np.array([p.term_slope for p in profiles])
    # then backwardated names drifted towards contango, and the levels stayed near 1
    backwardated = start < 0
    assert backwardated.sum() > 10
    assert slopes[backwardated].mean() > start[backwardated].mean() + 0.03
    assert np.mean(np.abs(slopes - LONG_RUN_TERM_SLOPE)) < 0.8 * np.mean(np.abs(start - LONG_RUN_TERM_SLOPE))
    assert 0.9 < np.median(levels) < 1.1 and levels.min() > 0.7 and levels.max() < 1.4
    assert term_state(7, profiles[0], days[:1]) == (profiles[0].term_slope, 1.0)


def test_marketsim_command_refuses_zero_days():
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("marketsim", "--days", "0", "--date", SESSION.isoformat())
