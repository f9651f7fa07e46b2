"""Reading served chains the way the engine will: ATM IV at the forward and the Forward Factor."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from marketsim.options import RISK_FREE_RATE
from marketsim.session import at_new_york

SECONDS_PER_YEAR = 365 * 86_400


def years_to(expiry: date, now: datetime) -> float:
    return (at_new_york(expiry, 16).timestamp() - now.timestamp()) / SECONDS_PER_YEAR


def atm_iv(contracts: list[dict[str, Any]], spot: float, years: float) -> float:
    """IV at the forward, linear in strike between the two strikes around it; calls and puts averaged."""
    forward = spot * math.exp(RISK_FREE_RATE * years)
    sides = []
    for kind in ("call", "put"):
        points = sorted(
            (c["details"]["strike_price"], c["implied_volatility"])
            for c in contracts
            if c["details"]["contract_type"] == kind and "implied_volatility" in c
        )
        below = [p for p in points if p[0] <= forward]
        above = [p for p in points if p[0] > forward]
        if below and above:
            (k1, v1), (k2, v2) = below[-1], above[0]
            sides.append(v1 + (v2 - v1) * (forward - k1) / (k2 - k1))
    assert sides, "no strikes around the forward"
    return sum(sides) / len(sides)


def forward_factor(vol1: float, years1: float, vol2: float, years2: float) -> float:
    forward_var = (vol2**2 * years2 - vol1**2 * years1) / (years2 - years1)
    forward_vol = math.sqrt(forward_var)
    return (vol1 - forward_vol) / forward_vol


def nearest_expiry(expiries: list[date], session: date, days: int) -> date:
    return min(expiries, key=lambda day: abs((day - session).days - days))
