"""Chains as the engine will read them: term structures, event bumps and spreads from served quotes."""

from __future__ import annotations

from datetime import date

from marketsim.server import MarketSimServer
from tests.marketsim.chain_math import atm_iv, forward_factor, nearest_expiry, years_to
from tests.marketsim.conftest import SESSION, follow

CHAIN = "/v3/snapshot/options/{}"


def _atm_term(sim: MarketSimServer, symbol: str, days: int) -> tuple[float, float]:
    """Served ATM IV and years to expiry of the listed expiry nearest `days` DTE."""
    listing = sim.market.listing(symbol)
    expiry = nearest_expiry(listing.expiries, SESSION, days)
    spot = sim.market.spot(symbol, sim.clock.epoch())
    contracts = follow(
        sim,
        CHAIN.format(symbol),
        expiration_date=expiry.isoformat(),
        limit=250,
        **{"strike_price.gte": spot * 0.85, "strike_price.lte": spot * 1.15},
    )
    years = years_to(expiry, sim.now())
    return atm_iv(contracts, spot, years), years


def test_event_bump_names_have_a_30_60_forward_factor_between_02_and_06(frozen_sim):
    # given the seeded subset with an event in the front month
    bumped = [p for p in frozen_sim.market.profiles.values() if p.ff_bump is not None]
    assert len(bumped) >= 10
    for profile in bumped:
        # when
        front_iv, front_years = _atm_term(frozen_sim, profile.symbol, 30)
        back_iv, back_years = _atm_term(frozen_sim, profile.symbol, 60)
        ff = forward_factor(front_iv, front_years, back_iv, back_years)
        # then
        assert 0.2 <= ff <= 0.6, (profile.symbol, ff)
        assert abs(ff - profile.ff_bump) < 0.05


def test_most_term_structures_are_in_contango(frozen_sim):
    # given every third optionable name
    symbols = [p.symbol for p in frozen_sim.market.profiles.values() if p.has_options][::3]
    # when
    contango = 0
    for symbol in symbols:
        front_iv, _ = _atm_term(frozen_sim, symbol, 30)
        back_iv, _ = _atm_term(frozen_sim, symbol, 60)
        contango += back_iv > front_iv
    # then
    assert contango / len(symbols) > 0.6


def test_scenario_ticker_gets_the_forward_factor_it_asked_for(fresh_sim):
    # given
    fresh_sim.add_ticker("FAKE1", price=120.0, volume=4_000_000, ff_bump=0.45)
    # when
    front_iv, front_years = _atm_term(fresh_sim, "FAKE1", 30)
    back_iv, back_years = _atm_term(fresh_sim, "FAKE1", 60)
    # then
    assert abs(forward_factor(front_iv, front_years, back_iv, back_years) - 0.45) < 0.05


def test_relative_spreads_widen_away_from_the_money(frozen_sim):
    # given SPY calls of the expiry nearest 30 days
    spot = frozen_sim.market.spot("SPY", frozen_sim.clock.epoch())
    expiry: date = nearest_expiry(frozen_sim.market.listing("SPY").expiries, SESSION, 30)
    calls = follow(frozen_sim, CHAIN.format("SPY"), expiration_date=expiry.isoformat(), contract_type="call", limit=250)

    def relative_spread(moneyness: float) -> float:
        quote = min(calls, key=lambda c: abs(c["details"]["strike_price"] - spot * moneyness))["last_quote"]
        return (quote["ask"] - quote["bid"]) / quote["midpoint"]

    # when / then
    assert relative_spread(1.0) < relative_spread(1.04) < relative_spread(1.08)
    assert relative_spread(1.0) < relative_spread(0.92)
