"""Forward volatility and the Forward Factor (DESIGN.md §3), and the ex-earnings adjustment."""

from __future__ import annotations

import math
from collections.abc import Iterable

ONE_DAY = 1.0 / 365.0


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def forward_variance(front_iv: float, front_years: float, back_iv: float, back_years: float) -> float | None:
    """(σ₂²T₂ − σ₁²T₁)/(T₂ − T₁); None when T₁ <= 0, T₁ >= T₂ or an input is not a finite number."""
    if not _finite(front_iv, front_years, back_iv, back_years) or front_years <= 0 or front_years >= back_years:
        return None
    return (back_iv * back_iv * back_years - front_iv * front_iv * front_years) / (back_years - front_years)


def forward_vol(front_iv: float, front_years: float, back_iv: float, back_years: float) -> float | None:
    """σ_fwd; None where invalid, including forward variance <= 0 (an inverted, arbitrageable pair)."""
    variance = forward_variance(front_iv, front_years, back_iv, back_years)
    if variance is None or variance <= 0:
        return None
    return math.sqrt(variance)


def forward_factor(
    front_iv: float, front_years: float, back_iv: float, back_years: float, min_forward_vol: float = 0.0
) -> float | None:
    """FF = (σ₁ − σ_fwd)/σ_fwd (divided by σ_fwd, not σ₁); None where σ_fwd is invalid or below the floor."""
    sigma = forward_vol(front_iv, front_years, back_iv, back_years)
    if sigma is None or sigma < min_forward_vol:
        return None
    return (front_iv - sigma) / sigma


def ex_earnings_vol(iv: float, years: float, moves: Iterable[float]) -> float | None:
    """σ_ex² = (σ²T − Σm²)/(T − n/365) for the n expected one-day moves m inside the leg's life;
    None when the event days take up the whole life or more than its variance."""
    squared = [m * m for m in moves]
    remaining_years = years - ONE_DAY * len(squared)
    variance = iv * iv * years - sum(squared)
    if not _finite(iv, years) or remaining_years <= 0 or variance <= 0:
        return None
    return math.sqrt(variance / remaining_years)
