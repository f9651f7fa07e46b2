"""The fill model of the track record: what a paper trade pays to open and receives to close.

Pure arithmetic on quotes (no Django), so a test can recompute every figure by hand. A calendar buys
the back legs and sells the front legs; closing it sells the back legs and buys the front legs back.
Per share:

* opening at the mid pays Σ back mids − Σ front mids; at the natural, Σ back asks − Σ front bids;
* closing at the mid receives Σ back mids − Σ front mids; at the natural, Σ back bids − Σ front asks;
* the realistic fill gives up ``share`` of the way from the mid to the natural: it pays
  mid + share·(natural − mid) to open and receives mid − share·(mid − natural) to close.

A spread is one contract of every leg (100 shares each); commissions are per contract per leg, paid
on opening and again on closing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SHARES_PER_CONTRACT = 100


def bought_on_entry(leg_name: str) -> bool:
    """Back legs are bought when the calendar opens (and sold when it closes)."""
    return leg_name.startswith("back")


@dataclass(frozen=True)
class Prices:
    """One side of a trade (opening debit or closing credit), a share."""

    mid: float
    natural: float
    fill: float  # the realistic fill between the two

    def per_spread(self, which: str) -> float:
        return round(getattr(self, which) * SHARES_PER_CONTRACT, 2)


def realistic(mid: float, natural: float, share: float) -> float:
    """``share`` of the way from the mid to the natural (0: the mid, 1: the natural)."""
    return mid + share * (natural - mid)


def opening_debit(legs: Sequence[Mapping], share: float) -> Prices:
    mid = sum((leg["mid"] if bought_on_entry(leg["leg"]) else -leg["mid"]) for leg in legs)
    natural = sum((leg["ask"] if bought_on_entry(leg["leg"]) else -leg["bid"]) for leg in legs)
    return Prices(mid, natural, realistic(mid, natural, share))


def closing_credit(legs: Sequence[Mapping], share: float) -> Prices:
    mid = sum((leg["mid"] if bought_on_entry(leg["leg"]) else -leg["mid"]) for leg in legs)
    natural = sum((leg["bid"] if bought_on_entry(leg["leg"]) else -leg["ask"]) for leg in legs)
    return Prices(mid, natural, realistic(mid, natural, share))


def commission_per_spread(legs: int, per_contract: float) -> float:
    """One side's commissions (opening or closing) for one spread."""
    return round(legs * per_contract, 2)


def pnl_per_spread(debit: float, credit: float, commissions: float) -> float:
    """Profit of one spread in dollars: credit − debit (a share, ×100) less both sides' commissions."""
    return round((credit - debit) * SHARES_PER_CONTRACT - commissions, 2)


def return_on_debit(pnl: float, debit: float) -> float | None:
    """P&L over the debit paid for one spread (its model's own debit, without commissions)."""
    paid = debit * SHARES_PER_CONTRACT
    return pnl / paid if paid > 0 else None
