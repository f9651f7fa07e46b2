"""What the engine is asked to look for: pairs, tolerances, rates and the liquidity floors."""

from __future__ import annotations

from dataclasses import dataclass

STRUCTURES = ("atm_call_calendar", "double_calendar")


@dataclass(frozen=True)
class EngineConfig:
    """Defaults follow DESIGN.md §3. Spreads are in percent of the mid (8.0 = 8%).

    constant_maturity_max_gap_days bounds how far from a pair's exact DTE the listed expiries used
    for the constant-maturity interpolation may lie; beyond it the figure is left out rather than
    built from a distant expiry.
    iv_max_spread_pct: a mid wider than this says too little to solve an IV from.
    strike_band_fraction: the strikes a fetch needs, as a fraction of the underlying price either side.
    """

    pairs: tuple[tuple[int, int], ...] = ((30, 60), (30, 90), (60, 90))
    front_tolerance_days: int = 5
    back_tolerance_days: int = 10
    risk_free_rate: float = 0.045
    dividend_yield: float = 0.0
    min_open_interest: float = 100
    min_volume: float = 10
    max_spread_pct: float = 8.0
    forward_vol_floor: float = 0.05
    target_delta: float = 0.35
    structures: tuple[str, ...] = STRUCTURES
    prefer_monthly: bool = False
    stale_quote_minutes: float = 15.0
    constant_maturity_max_gap_days: int = 35
    iv_max_spread_pct: float = 50.0
    strike_band_fraction: float = 0.5

    def __post_init__(self) -> None:
        for front, back in self.pairs:
            if not 0 < front < back:
                raise ValueError(f"pair {front}-{back}: need 0 < front DTE < back DTE")
        unknown = set(self.structures) - set(STRUCTURES)
        if unknown:
            raise ValueError(f"unknown structures {sorted(unknown)}; known: {', '.join(STRUCTURES)}")
        if not 0 < self.target_delta < 1:
            raise ValueError("target_delta must lie strictly between 0 and 1")
