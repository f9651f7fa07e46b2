"""A market of any size: the default 600 names unchanged, more names with the same spread."""

from __future__ import annotations

import numpy as np
import pytest
import requests
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketsim.market import Market
from marketsim.universe import MAX_NAMES, UNIVERSE_SIZE, VOLATILITY_RANGE, WELL_KNOWN, build_universe
from tests.marketsim.conftest import SESSION, marketsim_command

WELL_KNOWN_SYMBOLS = {symbol for symbol, *_ in WELL_KNOWN}


def assert_valid(profiles) -> None:
    for symbol, profile in profiles.items():
        assert profile.symbol == symbol
        assert 1 <= len(symbol) <= 5 and symbol.isalpha() and symbol.isupper()
        assert 0 < profile.price <= 1500
        assert VOLATILITY_RANGE[0] <= profile.volatility <= VOLATILITY_RANGE[1]
        assert not (profile.otc and profile.has_options)
        assert profile.expiry_class in ("daily", "weekly", "monthly")
        if symbol not in WELL_KNOWN_SYMBOLS:
            assert 2_000 <= profile.avg_volume <= 150_000_000
            assert profile.expiry_class != "daily"
            assert profile.expiry_class == "monthly" or profile.has_options


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**40), names=st.integers(len(WELL_KNOWN), 6_000))
def test_any_size_lists_that_many_distinct_valid_names_and_keeps_the_default_ones(seed, names):
    # given the default market of a seed
    default = build_universe(seed)
    # when a market of that seed lists `names` symbols
    profiles = build_universe(seed, names)
    # then they are that many distinct, valid names, the default's unchanged
    assert len(profiles) == names == len({p.symbol for p in profiles.values()})
    assert list(profiles) == sorted(profiles)
    assert_valid(profiles)
    assert WELL_KNOWN_SYMBOLS <= profiles.keys()
    shared = default.keys() & profiles.keys()
    assert len(shared) == min(names, UNIVERSE_SIZE)
    assert all(profiles[symbol] == default[symbol] for symbol in shared)


def test_a_smaller_market_is_the_start_of_a_larger_one():
    # given markets of one seed at three sizes
    small, middle, large = build_universe(7, 1_234), build_universe(7, 3_001), build_universe(7, 5_000)
    # then each smaller one is part of each larger one, unchanged
    assert all(middle[symbol] == profile for symbol, profile in small.items())
    assert all(large[symbol] == profile for symbol, profile in middle.items())


def test_five_thousand_names_have_the_default_markets_spread():
    # given the default market and one of 5,000 names from the same seed
    default, large = list(build_universe(7).values()), list(build_universe(7, 5_000).values())

    def spread(profiles):
        optionable = [p for p in profiles if p.has_options]
        dollar_volume = np.array([p.price * p.avg_volume for p in optionable])
        return {
            "optionable": len(optionable) / len(profiles),
            "otc": sum(p.otc for p in profiles) / len(profiles),
            "penny": sum(p.price < 5 for p in profiles) / len(profiles),
            "weekly": sum(p.expiry_class == "weekly" for p in optionable) / len(optionable),
            "event": sum(p.ff_bump is not None for p in optionable) / len(optionable),
            "median_dollar_volume": float(np.median(dollar_volume)),
            "median_volatility": float(np.median([p.volatility for p in optionable])),
        }

    # when
    before, after = spread(default), spread(large)
    # then the shares and medians are alike (sampling noise of 600 names aside)
    for key in ("optionable", "otc", "penny", "weekly", "event"):
        assert abs(after[key] - before[key]) < 0.06, key
    assert 0.6 < after["median_dollar_volume"] / before["median_dollar_volume"] < 1.6
    assert 0.85 < after["median_volatility"] / before["median_volatility"] < 1.15
    # a heavy tail: dozens of names trade over $1B a day, most a few millions
    dollar_volumes = np.array([p.price * p.avg_volume for p in large if p.has_options])
    assert (dollar_volumes > 1e9).sum() >= 25 and np.median(dollar_volumes) < 50e6


def test_a_name_beyond_the_default_ones_lists_a_chain_and_moves_on_later_days():
    # given a market of 2,000 names
    market = Market(7, SESSION, names=2_000)
    extra = next(
        symbol
        for symbol, profile in market.base_profiles.items()
        if profile.has_options and profile.expiry_class == "weekly" and symbol not in build_universe(7)
    )
    # when its chain is listed and the run moves to the next session
    listing = market.listing(extra)
    later = market.advanced(market.days[-1].replace(day=SESSION.day + 1))
    # then it lists weeklies and the later market lists the same names
    assert listing is not None and len(listing.expiries) > 12
    assert later.names == 2_000 and later.base_profiles.keys() == market.base_profiles.keys()


@pytest.mark.parametrize("names", [len(WELL_KNOWN) - 1, MAX_NAMES + 1])
def test_a_size_out_of_range_is_refused(names):
    with pytest.raises(ValueError, match="names"):
        build_universe(7, names)
    with pytest.raises(CommandError, match="--names must be between"):
        call_command("marketsim", "--names", str(names))


def test_the_command_lists_five_thousand_names():
    # given `manage.py marketsim --names 5000`
    with marketsim_command("--port", "0", "--names", "5000", "--date", "2025-03-10", "--speed", "0") as running:
        lines, rest_url = running.lines, running.env["POLYGON_REST_URL"]
        # when the previous session's grouped daily bars are asked for (OTC names left out)
        bars = requests.get(
            f"{rest_url}/v2/aggs/grouped/locale/us/market/stocks/2025-03-07", params={"apiKey": "k"}, timeout=30
        ).json()["results"]
        running.stop()
    # then the market lists 5,000 names, all distinct
    assert "seed 7, 5000 names" in lines[0]
    assert 4_000 < len(bars) < 5_000 and len({bar["T"] for bar in bars}) == len(bars)
