"""The synthetic market itself: deterministic, heavy-tailed, realistic chains."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from marketsim.market import Market
from marketsim.options import listed_expiries, third_friday
from tests.marketsim.conftest import SESSION


def test_same_seed_builds_the_same_market():
    # given two markets from one seed and one from another
    first, second, other = Market(7, SESSION), Market(7, SESSION), Market(8, SESSION)
    epoch = first.open_epoch + 3600
    # when
    chain_a, chain_b = first.listing("AAPL"), second.listing("AAPL")
    priced_a = first.price_contracts("AAPL", np.arange(len(chain_a)), epoch)
    priced_b = second.price_contracts("AAPL", np.arange(len(chain_b)), epoch)
    # then
    assert first.profiles == second.profiles
    assert np.array_equal(chain_a.strike, chain_b.strike) and np.array_equal(
        chain_a.open_interest, chain_b.open_interest
    )
    assert np.array_equal(priced_a.bid, priced_b.bid) and np.array_equal(priced_a.iv, priced_b.iv)
    assert first.spot("TSLA", epoch) == second.spot("TSLA", epoch)
    assert first.symbols() != other.symbols()


def test_universe_is_heavy_tailed_and_mixed():
    # given
    profiles = list(Market(7, SESSION).profiles.values())
    volumes = np.array([p.avg_volume for p in profiles])
    # then
    assert 550 <= len(profiles) <= 650
    assert {"SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN"} <= {p.symbol for p in profiles}
    assert all(1 <= len(p.symbol) <= 5 and p.symbol.isalpha() for p in profiles)
    assert sum(p.price < 5 for p in profiles) >= 20
    assert sum(p.otc for p in profiles) >= 10 and not any(p.otc and p.has_options for p in profiles)
    assert sum(not p.has_options for p in profiles) >= 100
    assert np.percentile(volumes, 99) > 50 * np.median(volumes)


def test_spy_size_chain_lists_about_ten_thousand_contracts_over_forty_expiries():
    # given
    market = Market(7, SESSION)
    # when
    spy, monthly_name = (
        market.listing("SPY"),
        next(
            market.listing(p.symbol) for p in market.profiles.values() if p.has_options and p.expiry_class == "monthly"
        ),
    )
    # then
    assert 36 <= len(spy.expiries) <= 48
    assert 8_000 <= len(spy) <= 12_000
    assert len(monthly_name.expiries) < 12


def test_expiries_follow_the_listing_calendar():
    # given / when
    weekly = listed_expiries(SESSION, "weekly")
    monthly = listed_expiries(SESSION, "monthly")
    holiday_week = listed_expiries(SESSION, "daily")
    # then
    assert third_friday(2025, 3) in monthly and third_friday(2025, 5) in monthly
    assert all(day.weekday() == 4 for day in monthly if day != date(2025, 4, 17))
    assert sum(1 for day in weekly if (day - SESSION).days <= 63) >= 9
    assert all(day.weekday() < 5 for day in holiday_week)
    assert date(2025, 4, 17) in monthly and date(2025, 4, 18) not in holiday_week  # Good Friday -> Thursday


def test_open_interest_decays_away_from_the_money():
    # given
    market = Market(7, SESSION)
    listing = market.listing("AAPL")
    spot = market.profiles["AAPL"].price
    front_monthly = listing.expiries.index(third_friday(2025, 4) - timedelta(days=1))  # Good Friday
    # when
    rows = listing.expiry_index == front_monthly
    distance = np.abs(listing.strike[rows] / spot - 1)
    interest = listing.open_interest[rows]
    # then
    assert interest[distance < 0.03].mean() > 2 * interest[distance > 0.15].mean()
    assert (listing.full_day_volume == 0).any()


def test_some_tickers_jump_half_a_percent_within_minutes():
    # given
    market = Market(7, SESSION)
    symbols = market.symbols()[:100]
    # when: the largest 5-minute move of each path during regular hours
    moves = []
    for symbol in symbols:
        prices = market.path(symbol).prices[:2340]
        moves.append(np.abs(prices[30:] / prices[:-30] - 1).max())
    # then
    assert sum(move >= 0.005 for move in moves) >= 20
