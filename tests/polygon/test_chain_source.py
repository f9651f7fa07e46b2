"""Fetch only what the engine needs: a 10,000-contract chain in a handful of requests, holding the
needed expiries and strikes, with the listed expiries cached until one passes or the month turns."""

from __future__ import annotations

from datetime import timedelta

import fakeredis
import numpy as np
import pytest

from scanner.chain_source import ChainFetcher, _fresh_key, probe_strike
from scanner.engine.config import EngineConfig
from scanner.engine.scan import scan_chain
from scanner.engine.selection import needed_expiries
from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import UnknownTickerError
from scanner.polygon.parse import parse_snapshot_pages
from tests.polygon.conftest import API_KEY
from tests.polygon.fake_polygon import BASE_URL, FakeChain


@pytest.fixture(scope="module")
def spy() -> FakeChain:
    return FakeChain()


@pytest.fixture
def fetcher() -> ChainFetcher:
    return ChainFetcher(PolygonClient(BASE_URL, API_KEY), fakeredis.FakeRedis())


def _expiries(fake: FakeChain) -> list:
    return sorted({np.datetime64(row["details"]["expiration_date"]).astype(object) for row in fake.rows})


def test_a_spy_size_chain_takes_at_most_6_requests(spy, fetcher, mocked):
    # given a 10,000-contract chain never seen before
    assert len(spy.rows) >= 10_000
    spy.serve(mocked)
    config = EngineConfig()

    # when
    fetched = fetcher.fetch("SPY", config, spy.as_of)

    # then spot, the expiry probe and the planned queries for the 4 needed expiries (pair picks 28, 60, 88;
    # 95 for the 90-day point): the last two are neighbours and share one
    assert len(fetched.expiries) == 4
    assert fetched.requests == len(mocked.calls) == 2 + sum(r.pages for r in fetched.requested) == 5
    assert not fetched.expiries_cached
    assert list(fetched.expiries) == needed_expiries(_expiries(spy), spy.as_of, config)
    assert set(np.unique(fetched.chain.expiry).astype(object)) == set(fetched.expiries)
    assert fetched.chain.underlying_price == spy.spot and len(fetched.chain) < len(spy.rows) / 5


def test_the_fetched_chain_scans_to_the_same_signals_as_the_whole_chain(spy, fetcher, mocked):
    # given
    spy.serve(mocked)
    whole = parse_snapshot_pages([{"status": "OK", "results": spy.rows}], "SPY")

    # when
    fetched = fetcher.fetch("SPY", EngineConfig(), spy.as_of).chain

    # then
    expected = scan_chain(whole, as_of=spy.as_of).signals
    assert len(expected) == 6
    assert scan_chain(fetched, as_of=spy.as_of).signals == expected


def test_each_needed_expiry_holds_both_35_delta_legs_with_a_strike_beyond(spy, fetcher, mocked):
    # given
    spy.serve(mocked)

    # when
    chain = fetcher.fetch("SPY", EngineConfig(), spy.as_of).chain

    # then for calls and puts of every expiry the fetched deltas straddle ±0.35
    for expiry in np.unique(chain.expiry):
        for is_call, target in ((True, 0.35), (False, -0.35)):
            deltas = chain.vendor_delta[(chain.expiry == expiry) & (chain.is_call == is_call)]
            assert deltas.min() < target < deltas.max()


def test_the_second_scan_of_the_day_skips_discovery(spy, fetcher, mocked):
    # given a first scan
    spy.serve(mocked)
    first = fetcher.fetch("SPY", EngineConfig(), spy.as_of)

    # when scanning again an hour later
    second = fetcher.fetch("SPY", EngineConfig(), spy.as_of + timedelta(hours=1))

    # then only the needed expiries are asked for
    assert second.expiries_cached
    assert second.requests == sum(r.pages for r in second.requested) == first.requests - 2


def test_a_later_day_reuses_the_listing_until_an_expiry_passes_or_the_month_turns(spy, fetcher, mocked):
    # given a first scan on Monday 2025-03-03 (the listing starts with Tuesday's daily)
    spy.serve(mocked)
    first = fetcher.fetch("SPY", EngineConfig(), spy.as_of)
    # when scanning, each time beside a sweep's fresh price, on Tuesday (no listed expiry passed
    # since), on Wednesday (Tuesday's passed) and, from a listing probed on Friday 2025-02-28, on
    # Monday 2025-03-03 (a new month)
    fetcher.cache.set(_fresh_key("SPY"), b"600.0")
    tuesday = fetcher.fetch("SPY", EngineConfig(), spy.as_of + timedelta(days=1))
    wednesday = fetcher.fetch("SPY", EngineConfig(), spy.as_of + timedelta(days=2))
    fetcher.cache.flushall()
    fetcher.fetch("SPY", EngineConfig(), spy.as_of - timedelta(days=3))
    fetcher.cache.set(_fresh_key("SPY"), b"600.0")
    new_month = fetcher.fetch("SPY", EngineConfig(), spy.as_of)
    # then Tuesday's scan reuses Monday's listing (less today's expiry: what a probe would list), the others probe
    assert tuesday.expiries_cached and tuesday.listed == first.listed[1:]
    assert tuesday.requests == sum(r.pages for r in tuesday.requested) < first.requests
    assert not wednesday.expiries_cached and not new_month.expiries_cached


def test_a_spot_that_moved_out_of_the_band_refetches_around_the_new_spot(fetcher, mocked):
    # given a scan at 600, then the market jumps 10%
    before = FakeChain()
    with_jump = FakeChain(spot=660.0)
    before.serve(mocked)
    fetcher.fetch("SPY", EngineConfig(), before.as_of)
    mocked.reset()
    with_jump.serve(mocked)

    # when
    fetched = fetcher.fetch("SPY", EngineConfig(), with_jump.as_of)

    # then the chain is centred on the new spot
    chain = fetched.chain
    assert chain.underlying_price == 660.0
    calls = chain.vendor_delta[chain.is_call]
    assert calls.min() < 0.35 < calls.max()


def test_a_reference_price_saves_the_spot_request(spy, fetcher, mocked):
    spy.serve(mocked)
    fetched = fetcher.fetch("SPY", EngineConfig(), spy.as_of, reference_price=601.0)
    assert fetched.requests == 1 + sum(r.pages for r in fetched.requested)


def test_a_close_the_universe_refresh_stored_saves_the_spot_request(spy, fetcher, mocked):
    # given no scan of SPY yet, but the last session's close (scanner.chain_source.remember_reference_prices)
    spy.serve(mocked)
    fetcher.cache.set("ff:chain:close:SPY", b"598.0")
    # when / then the probe goes first: no spot request
    fetched = fetcher.fetch("SPY", EngineConfig(), spy.as_of)
    assert fetched.requests == 1 + sum(r.pages for r in fetched.requested)


def test_a_ticker_without_contracts_in_the_window_is_unknown(fetcher, mocked):
    # given
    empty = FakeChain(ticker="NOPE")
    empty.rows.clear()
    empty.serve(mocked)

    # when / then
    with pytest.raises(UnknownTickerError, match="no option contracts"):
        fetcher.fetch("NOPE", EngineConfig(), empty.as_of)


@pytest.mark.parametrize(
    ("price", "strike"), [(600.4, 600.0), (603.0, 600.0), (97.6, 100.0), (1234.0, 1250.0), (2.1, 2.0), (7.0, 5.0)]
)
def test_the_probe_strike_is_a_standard_strike_near_the_price(price, strike):
    assert probe_strike(price) == strike
