import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.engine.bsm import bsm_delta, bsm_price, implied_vol
from scanner.engine.normal import norm_cdf


def test_norm_cdf_matches_math_erfc_across_both_tails():
    # given points from the far left tail to the right
    z = np.linspace(-37.0, 8.0, 20001)
    # when
    ours = norm_cdf(z)
    # then relative error stays at rounding level, also where Φ is tiny
    reference = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in z])
    assert np.max(np.abs(ours - reference) / reference) < 1e-12


def test_norm_cdf_keeps_the_shape_and_nan_and_matches_table_values():
    # given table values of Φ, a NaN, and a 2-D array
    z = np.array([[0.0, -1.0, 1.96], [-8.0, np.nan, np.inf]])
    # when
    ours = norm_cdf(z)
    # then
    assert ours.shape == (2, 3) and np.isnan(ours[1, 1]) and ours[1, 2] == 1.0
    table = [0.5, 0.15865525393145705, 0.9750021048517795, 6.22096057427178e-16]
    assert np.allclose(ours.ravel()[:4], table, rtol=1e-12, atol=0)
    assert norm_cdf(np.array([])).shape == (0,)


def test_put_call_parity_and_delta_signs():
    # given the same strike as call and put
    s, k, t, vol, r = 100.0, 105.0, 0.25, 0.3, 0.045
    # when
    call = bsm_price(s, k, t, vol, True, r)
    put = bsm_price(s, k, t, vol, False, r)
    # then
    assert math.isclose(call - put, s - k * math.exp(-r * t), rel_tol=1e-12)
    assert 0 < bsm_delta(s, k, t, vol, True, r) < 1
    assert -1 < bsm_delta(s, k, t, vol, False, r) < 0


@settings(max_examples=300, deadline=None)
@given(
    log_moneyness=st.floats(-0.6, 0.6),
    years=st.floats(3 / 365, 2.0),
    vol=st.floats(0.05, 2.0),
    is_call=st.booleans(),
    rate=st.floats(0.0, 0.08),
    dividend=st.floats(0.0, 0.04),
)
def test_implied_vol_recovers_the_pricing_vol(log_moneyness, years, vol, is_call, rate, dividend):
    # given a BSM price with at least a cent of time value on a $100 stock
    strike = 100.0 * math.exp(log_moneyness)
    price = float(bsm_price(100.0, strike, years, vol, is_call, rate, dividend))
    forward = 100.0 * math.exp((rate - dividend) * years)
    intrinsic = math.exp(-rate * years) * max((forward - strike) if is_call else (strike - forward), 0.0)
    if price - intrinsic < 0.01:
        return
    # when
    solved = implied_vol(price, 100.0, strike, years, is_call, rate, dividend)
    # then
    assert abs(float(solved) - vol) < 1e-8


def test_unsolvable_quotes_give_nan():
    # given prices below intrinsic, above the upper bound, zero, NaN and an expired contract
    price = np.array([1.0, 150.0, 0.0, np.nan, 5.0])
    strike = np.array([80.0, 100.0, 100.0, 100.0, 100.0])
    years = np.array([0.25, 0.25, 0.25, 0.25, 0.0])
    # when
    solved = implied_vol(price, 100.0, strike, years, True, 0.045)
    # then
    assert np.isnan(solved).all()


def test_solver_handles_a_whole_vector_of_mixed_quotes():
    # given 2,000 random quotes, calls and puts, in and out of the money
    rng = np.random.default_rng(7)
    strike = rng.uniform(60, 150, 2000)
    years = rng.uniform(7 / 365, 1.5, 2000)
    vol = rng.uniform(0.1, 1.2, 2000)
    is_call = rng.random(2000) < 0.5
    price = bsm_price(100.0, strike, years, vol, is_call, 0.045)
    # when
    solved = implied_vol(price, 100.0, strike, years, is_call, 0.045)
    # then every quote with a meaningful time value is recovered
    forward = 100.0 * np.exp(0.045 * years)
    intrinsic = np.exp(-0.045 * years) * np.where(
        is_call, np.maximum(forward - strike, 0), np.maximum(strike - forward, 0)
    )
    meaningful = price - intrinsic >= 0.01
    assert np.max(np.abs(solved[meaningful] - vol[meaningful])) < 1e-8
