"""A probed listing stands for the later days of its month until one of its expiries passes: on the
simulated market that listing is exactly what a fresh probe would find, so scans see the same chain."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import fakeredis
import pytest

from marketsim.options import listed_expiries
from marketsim.server import MarketSimServer
from marketsim.session import nyse
from scanner.chain_source import ChainFetcher, _fresh_key, _Listing
from scanner.engine.config import EngineConfig
from scanner.engine.scan import scan_chain
from scanner.engine.term import TERM_STRUCTURE_MAX_DTE
from scanner.polygon.client import PolygonClient


@pytest.fixture(autouse=True)
def quiet_server():
    logging.getLogger("websockets").setLevel(logging.WARNING)


def own_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())  # FakeRedis() instances share one server


def sessions(first: str, last: str) -> list[date]:
    return [stamp.date() for stamp in nyse().sessions_in_range(first, last)]


@pytest.mark.parametrize("expiry_class", ["daily", "weekly", "monthly"])
def test_the_simulated_listing_changes_only_when_the_rule_says_it_may(expiry_class):
    # given every session of two years and the listing of each
    days = sessions("2025-01-01", "2026-12-31")
    listed = {day: listed_expiries(day, expiry_class) for day in days}
    carried = 0
    for i, probed in enumerate(days):
        # a probe lists the expiries from its day on, a year and a month out
        expiries = tuple(e for e in listed[probed] if e <= probed + timedelta(days=396))
        listing = _Listing(probed, (probed, probed + timedelta(days=396)), expiries, {}, 1.0)
        for later in days[i + 1 : i + 24]:
            # when the listing probed on one day stands for a later one
            if not listing.stands_for(later, (later + timedelta(days=1), later + timedelta(days=125))):
                continue
            carried += 1
            year_out = later + timedelta(days=TERM_STRUCTURE_MAX_DTE)
            # then a probe that later day lists the same expiries
            after = listing.between(later + timedelta(days=1), year_out).expiries
            assert after == tuple(e for e in listed[later] if later < e <= year_out)
    # an expiry every session: a daily listing never stands for another day
    assert carried == 0 if expiry_class == "daily" else carried > 100


@pytest.mark.parametrize("name", ["AAPL", "JPM", "NFLX"])
def test_a_scan_on_a_carried_listing_fetches_what_a_fresh_probe_would(name):
    # given a scan on Monday 2025-06-09 with the listing cached, then the run a day and three days
    # later (without a fresh price, a scan probes again: yesterday's spot would cost a refetch)
    config, cache = EngineConfig(), own_redis()
    with MarketSimServer(seed=7, speed=0.0, session_date=date(2025, 6, 9)) as sim:
        client = PolygonClient(sim.rest_url, "any-key")
        ChainFetcher(client, cache).fetch(name, config, sim.now())
        for later in (date(2025, 6, 10), date(2025, 6, 12)):
            sim.advance_to(later)
            # when one scan uses the carried listing beside a sweep's price and another probes afresh
            assert ChainFetcher(client, cache).fetch(name, config, sim.now()).expiries_cached is False
            cache.set(_fresh_key(name), repr(client.last_prices([name])[name]))
            carried = ChainFetcher(client, cache).fetch(name, config, sim.now())
            fresh = ChainFetcher(client, own_redis()).fetch(name, config, sim.now())
            # then the carried one spent fewer requests on the same expiries, with the same signals
            assert carried.expiries_cached and not fresh.expiries_cached
            assert carried.listed == fresh.listed and carried.expiries == fresh.expiries
            assert carried.requests < fresh.requests
            assert signals(carried, config) == signals(fresh, config)
            cache.delete(_fresh_key(name))  # the sweep's price is minutes old at most


def signals(fetched, config):
    found = scan_chain(fetched.chain, config, fetched.chain.as_of).signals
    return sorted((s["pair"], s["structure"], s.get("strike"), s.get("put_strike"), s["ff"]) for s in found)
