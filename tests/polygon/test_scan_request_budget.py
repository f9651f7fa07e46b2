"""A scan costs at most 8 requests on any date: swept over a year of sessions of the simulated market.

The richest names of the simulated market are the costly ones: NFLX ($880, σ 0.38, $1 strikes: a
35-delta band holds 200+ contracts an expiry), COIN and TSLA (wild, $1 strikes) and SPY (dailies:
the most expiries). Each cold scan here is what a first scan of the day costs at most: the vendor's
earnings check (a ticker seen for the first time), the expiry probe and the planned snapshot
queries, counted by the simulated server itself. The dates cover every weekday (every fourth
session cycles through them), month and quarter ends, the sessions around holidays and the
quad-witching Fridays, and the two dates of issue 12 that cost 9.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import fakeredis
import pytest

from marketsim.server import MarketSimServer
from marketsim.session import is_session, nyse
from scanner.chain_source import SCAN_REQUEST_BUDGET, ChainFetcher
from scanner.engine.config import EngineConfig
from scanner.engine.scan import scan_chain
from scanner.polygon.client import PolygonClient
from scanner.polygon.decode import chain_from_pages

RICHEST = ("NFLX", "COIN", "TSLA", "SPY")
YEAR = (date(2025, 1, 2), date(2025, 12, 31))
SPECIAL = (
    date(2025, 4, 17),  # issue 12: 9 requests before (the Thursday before Good Friday)
    date(2025, 12, 31),  # issue 12: 9 requests before (year end)
    date(2025, 3, 21),  # quad witching
    date(2025, 6, 20),  # quad witching (the Thursday before Juneteenth's week)
    date(2025, 9, 19),  # quad witching
    date(2025, 12, 19),  # quad witching
    date(2025, 1, 31),  # month ends
    date(2025, 2, 28),
    date(2025, 6, 30),
    date(2025, 9, 30),
    date(2025, 7, 3),  # around Independence Day (a half session)
    date(2025, 7, 7),
    date(2025, 11, 28),  # the day after Thanksgiving (a half session)
    date(2025, 12, 24),
    date(2025, 12, 26),
    date(2025, 5, 23),  # around Memorial Day
    date(2025, 5, 27),
    date(2025, 1, 21),  # after Martin Luther King Jr. Day
)


def sweep_dates() -> list[date]:
    sessions = [stamp.date() for stamp in nyse().sessions_in_range(*(str(day) for day in YEAR))]
    return sorted(set(sessions[::4]) | set(SPECIAL))


@pytest.fixture(autouse=True)
def quiet_server():
    logging.getLogger("websockets").setLevel(logging.WARNING)


def cold_scan_requests(sim: MarketSimServer, client: PolygonClient, name: str) -> int:
    """The requests the simulated server answers for a first scan: earnings check, probe, expiries."""
    before = sim.counters["rest_requests"]
    day = sim.session_date
    earnings = tuple(row.date for row in client.earnings([name], day, day + timedelta(days=120)))
    fetcher = ChainFetcher(client, fakeredis.FakeRedis())
    fetcher.fetch(
        name,
        EngineConfig(),
        sim.now(),
        reference_price=sim.market.profile(name).price,  # a universe member: its last close
        earnings_dates=earnings,
        budget=SCAN_REQUEST_BUDGET - 1,
    )
    return sim.counters["rest_requests"] - before


def test_every_scan_of_the_richest_names_costs_at_most_8_requests_on_every_date():
    # given the simulated market on each session of the sweep
    over: dict[tuple[date, str], int] = {}
    scans = 0
    for day in sweep_dates():
        assert is_session(day)
        with MarketSimServer(seed=7, speed=0.0, session_date=day) as sim:
            client = PolygonClient(sim.rest_url, "any-key")
            # when each rich name gets a cold first scan
            for name in RICHEST:
                used = cold_scan_requests(sim, client, name)
                scans += 1
                if used > SCAN_REQUEST_BUDGET:
                    over[(day, name)] = used
    # then none takes more than 8 requests
    assert scans >= 4 * 70
    assert over == {}


@pytest.mark.parametrize(("day", "name"), [(date(2025, 4, 17), "NFLX"), (date(2025, 12, 31), "NFLX")])
def test_the_planned_fetch_scans_like_the_whole_chain(day, name):
    # given a frozen simulated market (identical quotes for both reads)
    with MarketSimServer(seed=7, speed=0.0, session_date=day) as sim:
        client = PolygonClient(sim.rest_url, "any-key")
        config = EngineConfig()
        as_of = sim.now()
        fetched = ChainFetcher(client, fakeredis.FakeRedis()).fetch(name, config, as_of)
        # when the same scan runs on every page of the chain (40+ requests)
        whole = chain_from_pages(client.option_chain_pages(name).pages, name)

    # then the signals are the same: pairs, structures, strikes and figures
    def signals(chain):
        found = scan_chain(chain, config, as_of).signals
        return sorted(
            (s["pair"], s["structure"], s.get("strike"), s.get("put_strike"), s["ff"], s["ff_constant_maturity"])
            for s in found
        )

    assert fetched.requests <= SCAN_REQUEST_BUDGET
    assert signals(fetched.chain) == signals(whole) != []
