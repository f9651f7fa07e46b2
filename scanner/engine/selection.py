"""Which listed expiries a scan uses: the front/back pick of each pair, the constant-maturity brackets
(taken from those picks wherever they straddle the exact DTE, so they rarely cost a request of their
own) and, for known earnings, the expiries just before and after the event."""

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


def constant_maturity_brackets(
    dtes: dict[date, int], target: int, max_gap: int, preferred: frozenset[date] = frozenset()
) -> tuple[date, ...]:
    """The listed expiries around an exact DTE for total-variance interpolation, within max_gap days of it.

    The preferred expiries (the pair picks a scan fetches anyway) come first: an exact hit among them,
    else the nearest preferred below and above. Interpolating total variance between, say, 28 and 63
    days for the 30-day point is as legitimate as between 28 and 35 and costs no extra request; a
    nearer listed expiry would only refine the figure under a kinked term structure. Only when the
    preferred ones do not straddle the target does a listed expiry step in: an exact hit, else the
    missing side (never extrapolation). Empty when either side has nothing within max_gap.
    """
    in_reach = {expiry: dte for expiry, dte in dtes.items() if abs(dte - target) <= max_gap}
    preferred_dtes = {expiry: dte for expiry, dte in in_reach.items() if expiry in preferred}
    exact = _exact(preferred_dtes, target)
    below, above = _nearest_below(preferred_dtes, target), _nearest_above(preferred_dtes, target)
    if exact is not None:
        return (exact,)
    if below is not None and above is not None:
        return (below, above)
    exact = _exact(in_reach, target)
    if exact is not None:
        return (exact,)
    below = below or _nearest_below(in_reach, target)
    above = above or _nearest_above(in_reach, target)
    return (below, above) if below is not None and above is not None else ()


def _exact(dtes: dict[date, int], target: int) -> date | None:
    return next((expiry for expiry, dte in dtes.items() if dte == target), None)


def _nearest_below(dtes: dict[date, int], target: int) -> date | None:
    return max(((dte, expiry) for expiry, dte in dtes.items() if dte < target), default=(0, None))[1]


def _nearest_above(dtes: dict[date, int], target: int) -> date | None:
    return min(((dte, expiry) for expiry, dte in dtes.items() if dte > target), default=(0, None))[1]


def select_pairs(listed: Iterable[date], as_of: datetime, config: EngineConfig) -> list[PairPick]:
    """Every configured pair resolved against the listed expiries. A pair without both expiries gets
    no constant-maturity brackets (it has no signal to carry the figure); the others take theirs
    from the complete pairs' expiries where those straddle the exact DTEs."""
    dtes = listed_dtes(listed, as_of)
    resolved = []
    for front_days, back_days in config.pairs:
        front = pick_expiry(dtes, front_days, config.front_tolerance_days, None, config.prefer_monthly)
        back = (
            pick_expiry(dtes, back_days, config.back_tolerance_days, front, config.prefer_monthly)
            if front is not None
            else None
        )
        resolved.append((front_days, back_days, front, back))
    fetched = frozenset(e for _, _, front, back in resolved if front and back for e in (front, back))
    gap = config.constant_maturity_max_gap_days
    picks = []
    for front_days, back_days, front, back in resolved:
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
        complete = front is not None and back is not None
        picks.append(
            PairPick(
                front_days=front_days,
                back_days=back_days,
                front=front,
                back=back,
                front_brackets=constant_maturity_brackets(dtes, front_days, gap, fetched) if complete else (),
                back_brackets=constant_maturity_brackets(dtes, back_days, gap, fetched) if complete else (),
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
    """Exactly the expiries a scan of these listed expiries would read, sorted: a scan of a chain
    holding only these gives the same signals as a scan of the whole chain.

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
        elif pick.front is not None and dtes[pick.front] >= pick.back_days - config.back_tolerance_days:
            # Overlapping front/back windows: without this front, a scan of the fetched expiries
            # could pick an earlier front and find a back the full listing rules out.
            needed.add(pick.front)
    today = trading_date(as_of)
    for event in earnings_dates:
        if last_back is not None and today < event <= last_back:
            needed.update(earnings_brackets(dtes, event))
    if config.prefer_monthly:
        # A third-week Thursday counts as monthly only when its Friday is not listed: keep the Friday.
        needed.update(
            friday
            for expiry in list(needed)
            if expiry.weekday() == 3 and 14 <= expiry.day <= 20 and (friday := expiry + timedelta(days=1)) in dtes
        )
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


def describe_dtes(dtes: dict[date, int]) -> str:
    values = sorted(dtes.values())
    if not values:
        return "none"
    shown = ", ".join(str(v) for v in values[:12])
    return shown + (f", … ({len(values)} in all)" if len(values) > 12 else "")
