"""What opening a calendar costs: the mid and natural debits, the spread cost and a suggested limit.

A calendar sells the front legs and buys the back legs, so

* the **mid debit** prices every leg at its mid: Σ back mids − Σ front mids;
* the **natural debit** pays the far side of every quote (buy at the ask, sell at the bid):
  Σ back asks − Σ front bids — what a market order would cost;
* the **spread cost** is how much dearer the natural is than the mid: (natural − mid) / mid, in percent;
* the **suggested limit** starts at the mid and gives up a quarter of the way to the natural
  (``LIMIT_FRACTION``), rounded *up* to the next cent (``SPREAD_TICK``): US options exchanges take
  complex (multi-leg) orders in $0.01 increments whatever the legs' own ticks ($0.05 above $3 a
  share), and rounding up keeps the limit at or beyond the point we computed. It lies between the
  mid and the natural.

A double calendar is the call calendar plus the put calendar, so its figures are the sums over its
four legs. Figures are per share; a spread (one contract of each leg) is 100 shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

from .signal import Leg

SHARES_PER_CONTRACT = 100
LIMIT_FRACTION = 0.25
SPREAD_TICK = 0.01


class SpreadCosts(TypedDict):
    debit: float  # mid debit a share
    debit_natural: float  # natural debit a share
    spread_cost_pct: float | None  # None: the mid debit is not positive, the ratio means nothing
    limit_price: float  # suggested limit a share, on the cent grid
    debit_per_spread: float  # the same, for one spread (x100), in cents
    debit_natural_per_spread: float
    limit_per_spread: float


def spread_costs(legs: Sequence[Leg]) -> SpreadCosts:
    """The costs of buying the back legs and selling the front legs, one contract each."""
    mid = sum(_signed(leg) * leg["mid"] for leg in legs)
    natural = sum(leg["ask"] if _bought(leg) else -leg["bid"] for leg in legs)
    limit = limit_price(mid, natural)
    return {
        "debit": mid,
        "debit_natural": natural,
        "spread_cost_pct": (natural - mid) / mid * 100.0 if mid > 0 else None,
        "limit_price": limit,
        "debit_per_spread": round(mid * SHARES_PER_CONTRACT, 2),
        "debit_natural_per_spread": round(natural * SHARES_PER_CONTRACT, 2),
        "limit_per_spread": round(limit * SHARES_PER_CONTRACT, 2),
    }


def limit_price(mid: float, natural: float) -> float:
    """Mid plus LIMIT_FRACTION of the way to the natural, rounded up to SPREAD_TICK."""
    target = mid + LIMIT_FRACTION * (natural - mid)
    # round() first: 1.2300000000000002 / 0.01 must stay 123 ticks, not become 124.
    ticks = math.ceil(round(target / SPREAD_TICK, 6))
    return round(ticks * SPREAD_TICK, 2)


def _bought(leg: Leg) -> bool:
    return leg["leg"].startswith("back")


def _signed(leg: Leg) -> int:
    return 1 if _bought(leg) else -1
