"""A scenario ticker whose front month is rich without an earnings event (an inverted term structure)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from marketsim.market import Market
from marketsim.options import base_atm_vol
from marketsim.universe import scenario_profile

SESSION = date(2026, 11, 30)


def test_a_negative_term_slope_inverts_the_term_structure_without_an_event():
    # given a scenario ticker with an inverted term structure and no ff_bump
    profile = scenario_profile("INVRT", 32.0, 20_000_000, True, None, volatility=0.12, term_slope=-0.5)
    market = Market(7, SESSION)
    market.add(profile)
    # then its ATM IV falls with the tenor (a rich front month) ...
    vols = base_atm_vol(profile, np.array([30, 60, 90]) / 365)
    assert vols[0] > vols[1] > vols[2]
    # ... and it has no earnings event: nothing for an ex-earnings FF to take out
    assert market.event("INVRT") == (float("inf"), 0.0)
    assert market.earnings_report("INVRT") is None


@pytest.mark.parametrize("slope", [-0.9, -1.5, 1.0])
def test_a_term_slope_that_would_make_the_back_iv_vanish_is_refused(slope):
    with pytest.raises(ValueError):
        scenario_profile("BAD", 50.0, 1_000_000, True, None, term_slope=slope)
