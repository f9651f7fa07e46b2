"""How far a ticker may move before a scan, per ticker: the move threshold scaled by what the ticker's
scans would cost, and how long a smaller move of the threshold may wait.

Under the plain rule (scan whenever the price sits ``move`` away from the last scan's), a ticker scans
about ``σ² / move²`` times a second (σ its volatility per √second: the expected first exit time of a
random walk from ±move is move² / σ²), so it spends ``cost · σ² / move²`` chain requests a second,
``cost`` being the requests of one of its scans.

How long should a move wait? Let a ticker's move wait ``W`` seconds before its scan. A gap between
scans then lasts ``τ + W`` on average (``τ = move² / σ²``, the wait for the move) and costs ``cost``
requests, and the one move it holds waits ``W``. Pricing a second of a move's delay at ``λ`` requests,
the ticker costs ``(cost + λ·W) / (τ + W)`` a second, whose slope in ``W`` has the sign of
``λ·τ − cost``: for a ticker whose plain-rule spend ``cost / τ`` is below ``λ`` any wait only adds
delay, and for one above it every second of wait saves requests, up to the longest wait allowed. The
best wait is all or nothing, and the ticker's spend decides which (``reference_vol`` and
``reference_cost`` set where ``λ`` falls). Hence:

* the **scan level** of a ticker is ``move · max(1, √(cost / reference_cost) · vol / reference_vol)``:
  a ticker at most as volatile and costly as the reference scans on ``move`` itself, at once; one that
  would spend k times the reference's requests scans on a move √k times larger, which brings its
  expected spend back to the reference's (the exit time grows with the square of the level), so no
  large move waits;
* a move of ``move`` that does not grow to the scan level waits ``max_wait_s`` from the moment it was
  first seen (a move that reverses is still scanned). The default, an hour, is the heartbeat's own
  bound (``HEARTBEAT_STALE_MINUTES``): between the two it costs nothing. Measured over a simulated
  session of the 100 most liquid names (bench/bench_api.py, 2026-12-01), against 5-minute polling:
  0.194 of its chain requests with a median delay after a 0.5 % move of 0 s (polling 101 s) and a
  p90 of 94 s (207 s); a 180 s wait for every move spent 0.260, the plain rule 0.304. The cost is in
  the tail: the p99 is 45 minutes, on the volatile, costly names whose moves of 0.5 % are their noise.

A ticker whose volatility is unknown (never scanned) scans on ``move`` itself; an unknown cost counts
as the reference cost. ``vol`` is annualised (0.30 = 30 %): the ATM implied volatility of the ticker's
last scan (:func:`atm_volatility`); ``cost`` is the chain requests of that scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# The front expiry's IV is noisy in its last days (expiry-day pinning, event premia); the first
# expiry at least a week out stands for the ticker's volatility, else the nearest one there is.
SETTLED_DTE = 7
# A scan level above this would hide every move behind the deadline; a sanity cap, not a tuning knob.
MAX_LEVEL = 0.2


class Profile(NamedTuple):
    """What the rule needs to know about one ticker, from its last scan."""

    vol: float | None  # annualised ATM implied volatility
    cost: float | None  # chain requests of a scan


@dataclass(frozen=True)
class TriggerRule:
    max_wait_s: float = 3600.0
    reference_vol: float = 0.30
    reference_cost: float = 4.0

    def __post_init__(self) -> None:
        if not (self.max_wait_s >= 0 and self.reference_vol > 0 and self.reference_cost > 0):
            raise ValueError(f"invalid trigger rule {self}")

    def level(self, move: float, profile: Profile | None) -> float:
        """The move that calls for a scan at once (≥ ``move``)."""
        if profile is None or not _positive(profile.vol):
            return move
        cost = profile.cost if _non_negative(profile.cost) else self.reference_cost
        spend = math.sqrt(cost / self.reference_cost) * profile.vol / self.reference_vol
        return min(max(move, move * spend), max(move, MAX_LEVEL))


def atm_volatility(term_structure: Iterable[Mapping[str, Any]] | None) -> float | None:
    """The ticker's volatility from a scan's term structure (``Scan.term_structure``), or None."""
    points = []
    for point in term_structure or ():
        try:
            dte, iv = int(point["dte"]), float(point["atm_iv"])
        except (KeyError, TypeError, ValueError):
            continue
        if _positive(iv):
            points.append((dte, iv))
    if not points:
        return None
    points.sort()
    settled = [iv for dte, iv in points if dte >= SETTLED_DTE]
    return settled[0] if settled else points[0][1]


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _non_negative(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
