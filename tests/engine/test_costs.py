"""Every signal carries what the spread costs: mid and natural debits, the spread cost and a limit."""

import math
from dataclasses import replace

import numpy as np
import pytest

from scanner.engine import scan_chain
from scanner.engine.costs import spread_costs
from scanner.engine.signal import Leg, LegName

from .synthetic import build_chain, term

DTES = [7, 14, 21, 28, 35, 42, 60, 90]


def quoted(name: LegName, bid: float, ask: float) -> Leg:
    return {
        "leg": name,
        "contract_type": "call" if "call" in name else "put",
        "expiry": "2025-04-04" if name.startswith("front") else "2025-05-02",
        "strike": 100.0,
        "bid": bid,
        "ask": ask,
        "mid": (bid + ask) / 2,
        "spread_pct": (ask - bid) / ((bid + ask) / 2) * 100,
        "open_interest": 500.0,
        "volume": 50.0,
        "iv": 0.4,
        "iv_source": "vendor",
    }


def test_a_call_calendar_costs_its_back_leg_less_its_front_leg():
    # given sell the front call at 1.60 x 1.70, buy the back call at 2.90 x 3.10
    legs = [quoted("front_call", 1.60, 1.70), quoted("back_call", 2.90, 3.10)]
    # when
    costs = spread_costs(legs)
    # then mid 3.00 - 1.65, natural 3.10 - 1.60, limit 1.35 + 0.15 / 4 = 1.3875 rounded up to 1.39
    assert costs["debit"] == pytest.approx(1.35)
    assert costs["debit_natural"] == pytest.approx(1.50)
    assert costs["spread_cost_pct"] == pytest.approx(0.15 / 1.35 * 100)
    assert costs["limit_price"] == 1.39
    assert (costs["debit_per_spread"], costs["debit_natural_per_spread"], costs["limit_per_spread"]) == (
        135.0,
        150.0,
        139.0,
    )


def test_a_double_calendar_costs_its_call_and_put_calendars_together():
    # given the call calendar above and a put calendar: sell 1.20 x 1.30, buy 2.00 x 2.20
    legs = [
        quoted("front_call", 1.60, 1.70),
        quoted("back_call", 2.90, 3.10),
        quoted("front_put", 1.20, 1.30),
        quoted("back_put", 2.00, 2.20),
    ]
    # when
    costs = spread_costs(legs)
    # then mid 1.35 + 0.85, natural 1.50 + 1.00, limit 2.20 + 0.30 / 4 = 2.275 rounded up to 2.28
    assert costs["debit"] == pytest.approx(2.20)
    assert costs["debit_natural"] == pytest.approx(2.50)
    assert costs["spread_cost_pct"] == pytest.approx(0.30 / 2.20 * 100)
    assert costs["limit_price"] == 2.28
    assert costs["limit_per_spread"] == 228.0


def test_a_limit_already_on_the_cent_stays_there():
    # given mid 1.20 and natural 1.32: 1.20 + 0.03 = 1.23 exactly (float noise must not push it to 1.24)
    legs = [quoted("front_call", 0.94, 1.00), quoted("back_call", 2.08, 2.26)]
    # when / then
    assert spread_costs(legs)["limit_price"] == 1.23


def test_a_credit_has_no_spread_cost_ratio():
    # given quotes where the front is dearer than the back (bad quotes or an odd surface)
    legs = [quoted("front_call", 3.00, 3.20), quoted("back_call", 2.90, 3.10)]
    # when
    costs = spread_costs(legs)
    # then the ratio to a non-positive mid means nothing
    assert costs["debit"] == pytest.approx(-0.10)
    assert costs["spread_cost_pct"] is None


@pytest.mark.parametrize("structure", ["atm_call_calendar", "double_calendar"])
def test_every_signal_of_a_chain_is_costed_from_its_legs_quotes(structure: str):
    # given a chain whose quotes are on the cent grid with spreads that differ row by row
    chain = build_chain(DTES, np.arange(70.0, 131.0, 2.5), term({d: 0.45 - d / 1000 for d in DTES}), vendor_iv=True)
    mid = np.round(0.5 * (chain.bid + chain.ask), 2)
    half = 0.01 * (1 + np.arange(len(chain)) % 5)
    keep = mid - half > 0
    chain = replace(
        chain,
        **{
            name: getattr(chain, name)[keep]
            for name in ("expiry", "strike", "is_call", "vendor_iv", "vendor_delta", "open_interest", "volume")
        },
        bid=(mid - half)[keep],
        ask=(mid + half)[keep],
        quote_time_ns=chain.quote_time_ns[keep],
    )
    quotes = {
        (e.item().isoformat(), float(k), bool(c)): (float(b), float(a))
        for e, k, c, b, a in zip(chain.expiry, chain.strike, chain.is_call, chain.bid, chain.ask)
    }
    # when
    signals = [s for s in scan_chain(chain).signals if s["structure"] == structure]
    # then each figure follows from the quotes of the legs it names
    assert len(signals) == 3
    for signal in signals:
        mid_debit = natural = 0.0
        for leg in signal["legs"]:
            bid, ask = quotes[(leg["expiry"], leg["strike"], leg["contract_type"] == "call")]
            if leg["leg"].startswith("back"):
                mid_debit, natural = mid_debit + (bid + ask) / 2, natural + ask
            else:
                mid_debit, natural = mid_debit - (bid + ask) / 2, natural - bid
        limit = math.ceil(round((mid_debit + (natural - mid_debit) / 4) * 100, 6)) / 100
        assert signal["debit"] == pytest.approx(mid_debit, abs=1e-9)
        assert signal["debit_natural"] == pytest.approx(natural, abs=1e-9)
        assert signal["spread_cost_pct"] == pytest.approx((natural - mid_debit) / mid_debit * 100)
        assert signal["limit_price"] == pytest.approx(limit, abs=1e-9)
        assert mid_debit <= signal["limit_price"] <= natural + 1e-9
        assert signal["debit_per_spread"] == pytest.approx(round(mid_debit * 100, 2))
        assert signal["debit_natural_per_spread"] == pytest.approx(round(natural * 100, 2))
        assert signal["limit_per_spread"] == pytest.approx(limit * 100)
