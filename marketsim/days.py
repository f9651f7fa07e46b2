"""What a run of sessions carries from one simulated day to the next, besides prices: the term
structure's daily step, the strikes listed so far, and the price move an earnings event brings.

Each is a pure function of the seed, the symbol and the run's days (the first session the symbol was
simulated on up to the day asked), so a day reached by advancing equals the same day started directly.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from marketsim.options import day_strikes
from marketsim.randomness import derive_rng
from marketsim.universe import TickerProfile

# The term slope (back over front ATM IV, see options.base_atm_vol) drifts back to a mild contango
# with a half-life of two weeks of sessions, so a backwardated name flattens and turns over days;
# the whole term structure's level takes a log step of 3% a session and halves its distance to the
# profile's own level in three weeks. Both are small next to an event's collapse.
LONG_RUN_TERM_SLOPE = 0.05
TERM_SLOPE_HALF_LIFE = 10.0
TERM_SLOPE_STEP = 0.01
IV_LEVEL_HALF_LIFE = 15.0
IV_LEVEL_STEP = 0.03


def term_state(seed: int, profile: TickerProfile, days: list[date]) -> tuple[float, float]:
    """(term_slope, iv_level) on days[-1]; days[0] is the symbol's first simulated session, where the
    profile's own slope and a level of 1 hold."""
    slope_keep = 0.5 ** (1.0 / TERM_SLOPE_HALF_LIFE)
    level_keep = 0.5 ** (1.0 / IV_LEVEL_HALF_LIFE)
    slope, log_level = profile.term_slope, 0.0
    for day in days[1:]:
        slope_draw, level_draw = derive_rng(seed, profile.symbol, day.toordinal(), "term").standard_normal(2)
        slope = LONG_RUN_TERM_SLOPE + (slope - LONG_RUN_TERM_SLOPE) * slope_keep + TERM_SLOPE_STEP * slope_draw
        log_level = log_level * level_keep + IV_LEVEL_STEP * level_draw
    return float(slope), math.exp(log_level)


def event_move(seed: int, symbol: str, day: date, variance: float) -> float:
    """The log move the open of an earnings session carries: as large as the event variance the
    front month priced (a martingale: its mean price change is nil)."""
    if variance <= 0.0:
        return 0.0
    draw = float(derive_rng(seed, symbol, day.toordinal(), "earnings-move").standard_normal())
    return math.sqrt(variance) * draw - 0.5 * variance


class StrikeBook:
    """Every strike listed so far per expiry: a session lists strikes around its previous close and
    an exchange never delists a strike before its expiry, so the book only grows (expired expiries
    are dropped by the listing, which asks only for the expiries listed that day)."""

    def __init__(self) -> None:
        self.days_seen = 0
        self.strikes: dict[date, np.ndarray] = {}

    def add_day(self, profile: TickerProfile, day: date, reference_epoch: float) -> None:
        for expiry, strikes in day_strikes(profile, day, reference_epoch).items():
            known = self.strikes.get(expiry)
            self.strikes[expiry] = strikes if known is None else np.union1d(known, strikes)
        self.days_seen += 1
        for expiry in [expiry for expiry in self.strikes if expiry < day]:
            del self.strikes[expiry]

    def copy(self) -> StrikeBook:
        book = StrikeBook()
        book.days_seen, book.strikes = self.days_seen, dict(self.strikes)
        return book
