"""The fill model on arbitrary quotes: the realistic fill lies between the mid and the natural, and a
round trip at unchanged quotes loses exactly the spread given up plus commissions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trades import fills

NAMES = ("front_call", "back_call", "front_put", "back_put")


@st.composite
def quotes(draw, legs: int):
    out = []
    for name in NAMES[:legs]:
        bid = draw(st.floats(0.0, 50.0, allow_nan=False))
        width = draw(st.floats(0.0, 5.0, allow_nan=False))
        out.append({"leg": name, "bid": bid, "ask": bid + width, "mid": bid + width / 2})
    return out


@given(st.sampled_from((2, 4)).flatmap(quotes), st.floats(0.0, 1.0))
def test_fills_lie_between_mid_and_natural_and_a_round_trip_costs_the_spread(legs, share):
    debit = fills.opening_debit(legs, share)
    credit = fills.closing_credit(legs, share)
    assert debit.mid - 1e-9 <= debit.fill <= debit.natural + 1e-9
    assert credit.natural - 1e-9 <= credit.fill <= credit.mid + 1e-9
    commissions = 2 * fills.commission_per_spread(len(legs), 0.65)
    spread = sum(leg["ask"] - leg["bid"] for leg in legs)  # a round trip crosses every leg's spread once
    pnl = fills.pnl_per_spread(debit.fill, credit.fill, commissions)
    assert pnl == pytest.approx(-share * spread * 100 - commissions, abs=0.011)


def test_a_return_on_a_debit_that_is_not_positive_is_none():
    assert fills.return_on_debit(10.0, 0.0) is None
    assert fills.return_on_debit(10.0, 0.5) == pytest.approx(0.2)
