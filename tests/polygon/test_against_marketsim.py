"""Our client and chain fetcher against the simulated market on loopback, with its fault switches."""

from __future__ import annotations

import logging
import time
from datetime import date

import fakeredis
import numpy as np
import pytest

from marketsim.faults import Faults
from marketsim.server import MarketSimServer
from scanner.chain_source import ChainFetcher
from scanner.engine.config import EngineConfig
from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import (
    AuthError,
    MalformedResponseError,
    NotEntitledError,
    RateLimitedError,
    TransientError,
)

CLEAR_FAULTS = Faults().as_dict()
SESSION = date(2026, 11, 30)  # a Monday; pinned: the simulated market's expiry layout follows its session date


@pytest.fixture(scope="module")
def sim():
    logging.getLogger("websockets").setLevel(logging.WARNING)
    server = MarketSimServer(seed=7, speed=1.0, session_date=SESSION).start()
    yield server
    server.stop()


@pytest.fixture
def market(sim):
    sim.set_faults(**CLEAR_FAULTS)
    yield sim
    sim.set_faults(**CLEAR_FAULTS)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sim_client(market, sleeps) -> PolygonClient:
    return PolygonClient(market.rest_url, "any-key", cache=fakeredis.FakeRedis(), sleep=sleeps.append)


def test_a_spy_scan_fetches_the_needed_expiries_within_8_requests(market, sim_client):
    # given SPY, about 10,000 contracts on the simulated market, and 100 ms per request
    market.set_faults(latency_ms=100)
    fetcher = ChainFetcher(sim_client, fakeredis.FakeRedis())

    # when
    fetched = fetcher.fetch("SPY", EngineConfig(), market.now())

    # then spot, the expiry probe and the planned queries: at most 8. On this session the needed expiries
    # are the picks at 31, 60 and 81 DTE, plus 24 (no pick below 30 DTE) and 109 (none above 90 DTE); SPY's
    # narrow bands let neighbouring expiries share a query: 2 + 3 = 5 requests
    assert [(expiry - SESSION).days for expiry in fetched.expiries] == [24, 31, 60, 81, 109]
    assert fetched.requests == 2 + sum(request.pages for request in fetched.requested) == 5
    assert fetched.expiries and set(np.unique(fetched.chain.expiry).astype(object)) == set(fetched.expiries)
    for is_call, target in ((True, 0.35), (False, -0.35)):
        deltas = fetched.chain.vendor_delta[fetched.chain.is_call == is_call]
        assert np.nanmin(deltas) < target < np.nanmax(deltas)


def test_a_read_timeout_shorter_than_the_latency_is_transient(market, sleeps):
    # given answers slower than the client's read timeout
    market.set_faults(latency_ms=300)
    client = PolygonClient(market.rest_url, "any-key", read_timeout=0.05, max_retries=1, sleep=sleeps.append)

    answered = market.counters["rest_requests"]

    # when / then
    with pytest.raises(TransientError, match="timed out"):
        client.market_status()
    # the simulator still answers the two abandoned requests: let it, before the next test's faults
    deadline = time.monotonic() + 10
    while market.counters["rest_requests"] < answered + 2 and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_429_storm_is_ridden_out_with_retry_after(market, sim_client, sleeps):
    # given the next two requests are rate limited with Retry-After: 1
    market.set_faults(rate_limit=2, retry_after=1)

    # when
    status = sim_client.market_status()

    # then
    assert status.server_time is not None
    assert sleeps == [1.0, 1.0]


def test_a_429_storm_longer_than_the_retries_reaches_the_caller(market, sim_client):
    market.set_faults(rate_limit=10, retry_after=1)
    with pytest.raises(RateLimitedError) as caught:
        sim_client.market_status()
    assert caught.value.retry_after == 1.0


def test_server_errors_are_retried(market, sim_client):
    market.set_faults(server_errors=2)
    assert sim_client.grouped_daily(market.now().date()).bars


def test_truncated_json_is_a_clear_error(market, sim_client):
    market.set_faults(truncated_json=1)
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        sim_client.option_chain_pages("SPY", contract_type="call", max_pages=2)


def test_a_repeating_cursor_is_refused(market, sim_client):
    market.set_faults(repeat_cursor=True)
    with pytest.raises(MalformedResponseError, match="repeated a page cursor"):
        sim_client.option_chain_pages("SPY")


def test_auth_failure_and_missing_entitlement(market, sim_client):
    market.set_faults(auth_failure=True)
    with pytest.raises(AuthError):
        sim_client.market_status()
    market.set_faults(auth_failure=False, not_authorized=True)
    with pytest.raises(NotEntitledError):
        sim_client.option_chain_pages("SPY")


def test_reference_endpoints_answer(market, sim_client):
    grouped = sim_client.grouped_daily(market.now().date())
    assert len(grouped.bars) > 100
    assert sim_client.has_listed_options("SPY") is True
    assert sim_client.market_status().server_time.date() == market.now().date()
