"""Vectorised Black-Scholes-Merton prices and greeks (q = 0) for whole chains at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 26.2.17 (error < 7.5e-8): numpy has no erf and scipy is not a dependency."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.2316419 * z)
    poly = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))))
    tail = np.exp(-0.5 * z * z) / _SQRT_2PI * poly
    return np.where(x >= 0, 1.0 - tail, tail)


def normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


@dataclass(frozen=True)
class Valuation:
    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray  # per calendar day
    vega: np.ndarray  # per 1 volatility point


def value(
    spot: float, strike: np.ndarray, years: np.ndarray, vol: np.ndarray, rate: float, is_call: np.ndarray
) -> Valuation:
    sqrt_t = np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    discount = np.exp(-rate * years)
    nd1, nd2 = normal_cdf(d1), normal_cdf(d2)
    call = spot * nd1 - strike * discount * nd2
    put = call - spot + strike * discount
    pdf = normal_pdf(d1)
    decay = -spot * pdf * vol / (2.0 * sqrt_t)
    call_theta = decay - rate * strike * discount * nd2
    put_theta = decay + rate * strike * discount * (1.0 - nd2)
    return Valuation(
        price=np.where(is_call, call, put),
        delta=np.where(is_call, nd1, nd1 - 1.0),
        gamma=pdf / (spot * vol * sqrt_t),
        theta=np.where(is_call, call_theta, put_theta) / 365.0,
        vega=spot * pdf * sqrt_t / 100.0,
    )
