import math

import pytest

from scanner.engine.forward import ex_earnings_vol, forward_factor, forward_variance, forward_vol

T30, T60 = 30 / 365, 60 / 365


def test_check_value_from_the_design():
    # given σ1 = 45% at 30 days and σ2 = 35% at 60 days
    # when
    sigma = forward_vol(0.45, T30, 0.35, T60)
    ff = forward_factor(0.45, T30, 0.35, T60)
    # then
    assert sigma == pytest.approx(0.2061, abs=1e-4)  # 20.6155%: the design quotes 20.61%
    assert ff == pytest.approx(1.183, abs=5e-4)


@pytest.mark.parametrize(
    "front_years, back_years",
    [(0.0, T60), (-T30, T60), (T60, T60), (T60, T30), (math.nan, T60), (T30, math.inf)],
)
def test_invalid_times_give_none(front_years, back_years):
    # given times with T1 <= 0, T1 >= T2 or not finite
    # when / then
    assert forward_vol(0.45, front_years, 0.35, back_years) is None
    assert forward_factor(0.45, front_years, 0.35, back_years) is None


def test_inverted_structure_has_no_forward_vol():
    # given a front so rich that σ2²T2 < σ1²T1
    front, back = 0.60, 0.40
    # when
    variance = forward_variance(front, T30, back, T60)
    # then
    assert variance is not None and variance < 0
    assert forward_vol(front, T30, back, T60) is None
    assert forward_factor(front, T30, back, T60) is None


def test_floor_suppresses_tiny_forward_vol():
    # given a pair whose forward vol is 4%
    back = math.sqrt((0.40**2 * T30 + 0.04**2 * (T60 - T30)) / T60)
    # when
    unfloored = forward_factor(0.40, T30, back, T60)
    floored = forward_factor(0.40, T30, back, T60, min_forward_vol=0.05)
    # then
    assert unfloored == pytest.approx((0.40 - 0.04) / 0.04)
    assert floored is None


def test_ex_earnings_vol_removes_the_event_variance():
    # given 40% over 30 days that includes a 6% one-day move
    # when
    ex = ex_earnings_vol(0.40, T30, [0.06])
    # then σ_ex² = (σ²T − m²)/(T − 1/365)
    assert ex == pytest.approx(math.sqrt((0.16 * T30 - 0.0036) / (T30 - 1 / 365)))
    assert ex_earnings_vol(0.40, T30, []) == pytest.approx(0.40)
    assert ex_earnings_vol(0.10, T30, [0.5]) is None
