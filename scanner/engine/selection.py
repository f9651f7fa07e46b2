"""Which listed expiries a scan uses: the front/back pick of each pair, the constant-maturity brackets
and, for known earnings, the expiries just before and after the event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .config import EngineConfig
from .timing import trading_date


@dataclass(frozen=True)
class PairPick:
    """One configured pair resolved against the listed expiries; front/back None when nothing fits."""

    front_days: int
    back_days: int
    front: date | None
    back: date | None
    front_brackets: tuple[date, ...]
    back_brackets: tuple[date, ...]
    note: str | None

    @property
    def label(self) -> str:
        return f"{self.front_days}-{self.back_days}"


def is_monthly(expiry: date, listed: frozenset[date]) -> bool:
    """Third Friday of the month, or the Thursday before it when that Friday is not listed (holiday)."""
    if expiry.weekday() == 4:
        return 15 <= expiry.day <= 21
    if expiry.weekday() == 3 and 14 <= expiry.day <= 20:
        return expiry + timedelta(days=1) not in listed
    return False


def listed_dtes(listed: Iterable[date], as_of: datetime) -> dict[date, int]:
    """Listed expiries still ahead of as_of's New York date (DTE >= 1), with their DTE."""
    today = trading_date(as_of)
    return {expiry: (expiry - today).days for expiry in sorted(set(listed)) if expiry > today}


def pick_expiry(
    dtes: dict[date, int], target: int, tolerance: int, after: date | None, prefer_monthly: bool
) -> date | None:
    """The listed expiry nearest the target DTE within tolerance (ties: the earlier), after `after`."""
    listed = frozenset(dtes)
    candidates = [
        (not (prefer_monthly and is_monthly(expiry, listed)), abs(dte - target), dte, expiry)
        for expiry, dte in dtes.items()
        if abs(dte - target) <= tolerance and (after is None or expiry > after)
    ]
    return min(candidates)[3] if candidates else None


def constant_maturity_brackets(dtes: dict[date, int], target: int, max_gap: int) -> tuple[date, ...]:
    """The listed expiries around an exact DTE for total-variance interpolation: one on an exact hit,
    otherwise the nearest below and above (each within max_gap days); empty when either side is missing."""
    exact = [expiry for expiry, dte in dtes.items() if dte == target]
    if exact:
        return (exact[0],)
    below = [(dte, expiry) for expiry, dte in dtes.items() if target - max_gap <= dte < target]
    above = [(dte, expiry) for expiry, dte in dtes.items() if target < dte <= target + max_gap]
    if not below or not above:
        return ()
    return (max(below)[1], min(above)[1])


def select_pairs(listed: Iterable[date], as_of: datetime, config: EngineConfig) -> list[PairPick]:
    dtes = listed_dtes(listed, as_of)
    picks = []
    for front_days, back_days in config.pairs:
        front = pick_expiry(dtes, front_days, config.front_tolerance_days, None, config.prefer_monthly)
        back = (
            pick_expiry(dtes, back_days, config.back_tolerance_days, front, config.prefer_monthly)
            if front is not None
            else None
        )
        note = None
        if front is None:
            note = (
                f"{front_days}-{back_days}: no expiry within {config.front_tolerance_days} days of "
                f"{front_days} DTE (listed DTEs: {describe_dtes(dtes)})"
            )
        elif back is None:
            note = (
                f"{front_days}-{back_days}: no expiry after {front.isoformat()} within "
                f"{config.back_tolerance_days} days of {back_days} DTE (listed DTEs: {describe_dtes(dtes)})"
            )
        gap = config.constant_maturity_max_gap_days
        picks.append(
            PairPick(
                front_days=front_days,
                back_days=back_days,
                front=front,
                back=back,
                front_brackets=constant_maturity_brackets(dtes, front_days, gap),
                back_brackets=constant_maturity_brackets(dtes, back_days, gap),
                note=note,
            )
        )
    return picks


def earnings_brackets(dtes: dict[date, int], event: date) -> tuple[date, ...]:
    """The last listed expiry before an event and the first on or after it (to estimate its move)."""
    before = [expiry for expiry in dtes if expiry < event]
    after = [expiry for expiry in dtes if expiry >= event]
    if not before or not after:
        return ()
    return (max(before), min(after))


def needed_expiries(
    listed: Sequence[date], as_of: datetime, config: EngineConfig, earnings_dates: Sequence[date] = ()
) -> list[date]:
    """Exactly the expiries a scan of these listed expiries would read, sorted.

    earnings_dates (optional) adds the expiries around each event inside a pair's window, which the
    engine uses to estimate an unknown expected move.
    """
    dtes = listed_dtes(listed, as_of)
    needed: set[date] = set()
    last_back: date | None = None
    for pick in select_pairs(listed, as_of, config):
        needed.update(pick.front_brackets, pick.back_brackets)
        if pick.front is not None and pick.back is not None:
            needed.update((pick.front, pick.back))
            last_back = max(last_back or pick.back, pick.back)
    today = trading_date(as_of)
    for event in earnings_dates:
        if last_back is not None and today < event <= last_back:
            needed.update(earnings_brackets(dtes, event))
    return sorted(needed)


def expiry_window(as_of: datetime, config: EngineConfig) -> tuple[date, date]:
    """The widest range of expiry dates (inclusive) the configured pairs can touch, tolerances and
    constant-maturity brackets included: fetch this window when the listed expiries are unknown."""
    today = trading_date(as_of)
    gap = config.constant_maturity_max_gap_days
    front_reach = max(config.front_tolerance_days, gap)
    back_reach = max(config.back_tolerance_days, gap)
    earliest = min(front - front_reach for front, _ in config.pairs)
    latest = max(back + back_reach for _, back in config.pairs)
    return today + timedelta(days=max(1, earliest)), today + timedelta(days=latest)


def strike_band(underlying_price: float, config: EngineConfig) -> tuple[float, float]:
    """Strikes worth fetching: the ATM and 35-delta strikes of the default pairs lie well inside."""
    width = config.strike_band_fraction
    return underlying_price * (1 - width), underlying_price * (1 + width)


def describe_dtes(dtes: dict[date, int]) -> str:
    values = sorted(dtes.values())
    if not values:
        return "none"
    shown = ", ".join(str(v) for v in values[:12])
    return shown + (f", … ({len(values)} in all)" if len(values) > 12 else "")
