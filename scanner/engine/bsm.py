"""Black–Scholes–Merton prices, deltas and a vectorized implied-volatility solver.

The solver works on the normalised out-of-the-money price (put–call parity turns an in-the-money quote
into its out-of-the-money twin, whose price carries the volatility information without the intrinsic
value swamping it). With y = -|ln(F/K)| and s = σ√T the normalised OTM call is
    b(s) = e^{y/2} Φ(y/s + s/2) − e^{−y/2} Φ(y/s − s/2),   ∂b/∂s = e^{y/2} φ(y/s + s/2),
convex below the inflection s* = √(2|y|) and concave above (Manaster–Koehler). Newton starts at s*:
on the price above it (tangents overshoot nothing), on the log-price below it (deep OTM prices behave
like e^{−a/s²}, where plain Newton crawls). A bracket kept from every evaluation catches any step that
leaves it with a bisection, so every solvable quote converges.
"""

from __future__ import annotations

import numpy as np

from .normal import norm_cdf, norm_pdf

MIN_VOL = 0.01
MAX_VOL = 5.0
_MAX_ITERATIONS = 60
_TOLERANCE = 1e-7  # on s = σ√T: after a Halley step this small the error is ~1e-20, after Newton ~1e-14


def forward_and_discount(spot, years, rate: float, dividend: float) -> tuple[np.ndarray, np.ndarray]:
    years = np.asarray(years, dtype=np.float64)
    return np.asarray(spot, dtype=np.float64) * np.exp((rate - dividend) * years), np.exp(-rate * years)


def bsm_price(spot, strike, years, vol, is_call, rate: float = 0.0, dividend: float = 0.0) -> np.ndarray:
    forward, discount = forward_and_discount(spot, years, rate, dividend)
    strike = np.asarray(strike, dtype=np.float64)
    deviation = np.asarray(vol, dtype=np.float64) * np.sqrt(years)
    d1 = np.log(forward / strike) / deviation + 0.5 * deviation
    d2 = d1 - deviation
    call = forward * norm_cdf(d1) - strike * norm_cdf(d2)
    return discount * np.where(is_call, call, call - forward + strike)


def bsm_delta(spot, strike, years, vol, is_call, rate: float = 0.0, dividend: float = 0.0) -> np.ndarray:
    """Spot delta: e^{-qT} Φ(d1) for calls, −e^{-qT} Φ(−d1) for puts."""
    signed, carry = _delta_parts(spot, strike, years, vol, is_call, rate, dividend)
    tail = norm_cdf(signed)
    return np.where(is_call, carry * tail, -carry * tail)


def bsm_deltas(spot, groups, rate: float = 0.0, dividend: float = 0.0) -> list[np.ndarray]:
    """``bsm_delta`` of each group of contracts, (strike, years, vol, is_call) arrays, the same
    numbers with one Φ evaluation for all the groups: Φ's cost is numpy's per-call overhead."""
    parts = [_delta_parts(spot, strike, years, vol, is_call, rate, dividend) for strike, years, vol, is_call in groups]
    signed = [part[0] for part in parts]
    tails = np.split(norm_cdf(np.concatenate(signed)), np.cumsum([s.size for s in signed])[:-1])
    return [
        np.where(is_call, carry * tail, -carry * tail) for (*_, is_call), (_, carry), tail in zip(groups, parts, tails)
    ]


def _delta_parts(spot, strike, years, vol, is_call, rate: float, dividend: float) -> tuple[np.ndarray, np.ndarray]:
    """Φ's argument (d1 for a call, -d1 for a put: one Φ per row) and the carry e^{-qT}."""
    years = np.asarray(years, dtype=np.float64)
    forward, _ = forward_and_discount(spot, years, rate, dividend)
    deviation = np.asarray(vol, dtype=np.float64) * np.sqrt(years)
    d1 = np.log(forward / np.asarray(strike, dtype=np.float64)) / deviation + 0.5 * deviation
    return np.where(is_call, d1, -d1), np.exp(-dividend * years)


def _normalised_otm(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """b(s), ∂b/∂s and ∂²b/∂s² / ∂b/∂s (= d1·d2/s) for y <= 0, s > 0."""
    half = np.exp(0.5 * y)
    d1 = y / s + 0.5 * s
    d2 = d1 - s
    # Φ(d1) and Φ(d2) in one call: the solver's time goes to numpy's per-call overhead, not the rows
    both = norm_cdf(np.concatenate((d1, d2)))
    price = half * both[: d1.size] - both[d1.size :] / half
    return price, half * norm_pdf(d1), d1 * d2 / s


def implied_vol(price, spot, strike, years, is_call, rate: float = 0.0, dividend: float = 0.0) -> np.ndarray:
    """σ with bsm_price(σ) == price, elementwise; NaN where none lies in [MIN_VOL, MAX_VOL]
    (price at or below intrinsic, above the no-arbitrage bound, T <= 0, non-finite input)."""
    price, spot, strike, years, is_call = np.broadcast_arrays(
        np.asarray(price, dtype=np.float64),
        np.asarray(spot, dtype=np.float64),
        np.asarray(strike, dtype=np.float64),
        np.asarray(years, dtype=np.float64),
        np.asarray(is_call, dtype=bool),
    )
    result = np.full(price.shape, np.nan)
    with np.errstate(all="ignore"):
        forward, discount = forward_and_discount(spot, years, rate, dividend)
        undiscounted = price / discount
        # the out-of-the-money twin: subtract the forward intrinsic value of an in-the-money quote
        intrinsic = np.where(is_call, np.maximum(forward - strike, 0.0), np.maximum(strike - forward, 0.0))
        root = np.sqrt(forward * strike)
        target = (undiscounted - intrinsic) / root
        y = -np.abs(np.log(forward / strike))
        # a time value lost in the rounding of the quote's intrinsic part says nothing about σ
        meaningful = undiscounted - intrinsic > 1e-10 * undiscounted
        usable = meaningful & (target > 0) & np.isfinite(target) & (years > 0) & np.isfinite(y)
        index = np.flatnonzero(usable.ravel())
        if index.size:
            flat_years = years.ravel()[index]
            solved = _solve(target.ravel()[index], y.ravel()[index], flat_years)
            vol = solved / np.sqrt(flat_years)
            vol[~((vol >= MIN_VOL) & (vol <= MAX_VOL))] = np.nan
            result.ravel()[index] = vol
    return result


def _solve(target: np.ndarray, y: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Total deviation s solving b(y, s) = target by Halley steps (on b above the inflection, on ln b
    below it) inside a shrinking bracket; NaN where no root lies in the allowed volatility range."""
    s_max = MAX_VOL * np.sqrt(years) * 1.0001
    inflection = np.sqrt(-2.0 * y)
    s = np.clip(inflection, MIN_VOL * np.sqrt(years), s_max)
    value, vega, curvature = _normalised_otm(y, s)
    lower = target < value
    low = np.where(lower, 0.0, s)
    high = np.where(lower, s, s_max)
    log_target = np.log(target)
    out = np.full(target.shape, np.nan)
    active = np.arange(target.size)
    for _ in range(_MAX_ITERATIONS):
        a_lower = lower[active]
        a_s = s[active]
        # Halley: s - f/f' / (1 - f f''/(2 f'^2)), with f = b - target or f = ln b - ln target
        ratio = vega / value
        f = np.where(a_lower, np.log(value) - log_target[active], value - target[active])
        slope = np.where(a_lower, ratio, vega)
        bend = np.where(a_lower, curvature - ratio, curvature)  # f''/f'
        newton = f / slope
        # far from the root Halley's correction can flip the step; Newton alone is then the safer move
        correction = 1.0 - 0.5 * newton * bend
        candidate = a_s - np.where(correction > 0.5, newton / correction, newton)
        below = f < 0
        a_low = np.where(below, a_s, low[active])
        a_high = np.where(below, high[active], a_s)
        low[active], high[active] = a_low, a_high
        done = np.abs(candidate - a_s) <= _TOLERANCE
        outside = ~(done | ((candidate > a_low) & (candidate < a_high)))
        candidate = np.where(outside, 0.5 * (a_low + a_high), candidate)
        s[active] = candidate
        out[active[done]] = candidate[done]
        active = active[~done]
        if not active.size:
            break
        value, vega, curvature = _normalised_otm(y[active], s[active])
    return np.where(out < s_max, out, np.nan)
