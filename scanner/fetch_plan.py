"""Which option-snapshot requests bring the strikes a scan reads, in as few requests as pages allow.

A snapshot request takes one expiration range, one strike range and optionally one contract type,
and answers at most ``PAGE_ROWS`` contracts a page. What the engine reads of each needed expiry:

* **ATM** (every needed expiry): the few strikes each side of its forward, calls and puts.
* **Front of a pair**: also its 35-delta call (above spot) and 35-delta put (below).
* **Back of a pair**: the strikes its fronts read (the calendars buy the same strikes).

A symmetric band wide enough for the deltas holds hundreds of contracts on a name with fine strikes
(a $1 grid on a $900 stock), so one expiry alone can take several pages. The plan instead gives each
needed expiry a call range and a put range and partitions the needed expiries (in date order) into
runs fetched together: a run is one request for both types over the union of its ranges, or one for
the calls and one for the puts; the partition with the fewest pages wins. Page counts come from the
strike steps the expiry probe saw (an estimate on the high side: grids only get coarser away from
the money). Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import NormalDist

import numpy as np

from scanner.engine.config import EngineConfig
from scanner.engine.scan import ATM_BAND_STRIKES
from scanner.engine.selection import select_pairs
from scanner.engine.timing import years_to_expiry

PAGE_ROWS = 250  # the vendor's largest snapshot page
# The IV at the 35-delta strikes relative to the ATM IV, on the high side (it pushes the strike out):
# call wings trade near or below ATM, put wings above it (equity skew).
CALL_WING, PUT_WING = 1.2, 1.35
FALLBACK_IV = 1.0  # no IV known for any expiry: assume a wild name (the cap still applies)

Range = tuple[float, float]


@dataclass(frozen=True)
class Slack:
    """Room around what the engine reads: ``spot`` (a fraction of it) for a price that moves before
    the answer, ``steps`` strikes beyond the estimated 35-delta strikes and the ATM strikes."""

    spot: float
    steps: int


ROOMY = Slack(0.005, 2)  # the default plan
TIGHT = Slack(0.002, 1)  # when the roomy plan would break the scan's request budget
CORE = Slack(0.0, 1)  # what a fetch must cover, else the expiry is fetched again


@dataclass(frozen=True)
class Need:
    """The strike ranges (inclusive) one expiry's calls and puts must cover."""

    call: Range
    put: Range

    def of(self, contract_type: str) -> Range:
        return self.call if contract_type == "call" else self.put


@dataclass(frozen=True)
class Request:
    """One snapshot query: expiries first..last (every listed one between comes too), strikes
    low..high, one contract type or both (None); ``covers`` the needed expiries it serves."""

    first: date
    last: date
    low: float
    high: float
    contract_type: str | None
    covers: tuple[date, ...]
    rows: int  # estimated contracts

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.rows / PAGE_ROWS))

    def types(self) -> tuple[str, ...]:
        return (self.contract_type,) if self.contract_type else ("call", "put")


def needs(
    spot: float,
    as_of: datetime,
    config: EngineConfig,
    listed: Sequence[date],
    needed: Sequence[date],
    iv: Mapping[date, float],
    steps: Mapping[date, float],
    slack: Slack = ROOMY,
) -> dict[date, Need]:
    """The call and put strike ranges of each needed expiry at ``spot``, with ``slack`` around them."""
    fill = _filled_iv(listed, iv)
    step = _steps(listed, steps, spot)
    years = dict(zip(needed, _years(needed, as_of)))
    atm = {e: _atm_range(spot, years[e], step[e], config, slack) for e in needed}
    wings = {e: _wings(spot, fill.get(e, FALLBACK_IV), years[e], step[e], config, slack) for e in needed}
    call = dict(atm)
    put = dict(atm)
    wanted = set(needed)
    for pick in select_pairs(listed, as_of, config):
        if not (pick.front and pick.back) or not {pick.front, pick.back} <= wanted:
            continue
        put_low, call_high = wings[pick.front]
        front_atm = atm[pick.front]
        for expiry in (pick.front, pick.back):
            call[expiry] = _union(call[expiry], (front_atm[0], call_high))
            put[expiry] = _union(put[expiry], (put_low, front_atm[1]))
    ceiling = config.strike_band_fraction
    cap = (spot * (1 - ceiling), spot * (1 + ceiling))
    return {e: Need(_clip(call[e], cap), _clip(put[e], cap)) for e in needed}


def plan(
    needed: Mapping[date, Need], listed: Sequence[date], steps: Mapping[date, float], spot: float
) -> list[Request]:
    """The requests with the fewest pages (then the fewest rows) that cover every need."""
    order = sorted(needed)
    if not order:
        return []
    step = _steps(sorted(set(listed) | set(order)), steps, spot)
    every = sorted(step)
    best: list[tuple[int, int, list[Request]]] = [(0, 0, [])]
    for end in range(1, len(order) + 1):
        choices = []
        for start in range(end):
            pages, rows, requests = best[start]
            run = _run(order[start:end], needed, every, step)
            choices.append((pages + sum(r.pages for r in run), rows + sum(r.rows for r in run), requests + run))
        best.append(min(choices, key=lambda choice: choice[:2]))
    return best[-1][2]


def pages(requests: Sequence[Request]) -> int:
    return sum(request.pages for request in requests)


def uncovered(needed: Mapping[date, Need], requests: Sequence[Request]) -> list[date]:
    """The needed expiries some of whose range no request covers (spot moved since the plan)."""
    missing = []
    for expiry, need in needed.items():
        for contract_type in ("call", "put"):
            low, high = need.of(contract_type)
            covering = [r for r in requests if expiry in r.covers and contract_type in r.types()]
            if not any(r.low <= low and high <= r.high for r in covering):
                missing.append(expiry)
                break
    return missing


def strike_steps(expiry: np.ndarray, strike: np.ndarray, span: float) -> dict[date, float]:
    """Per expiry, the strike step near the money from a probe of the strikes [S, S + span]: the
    smallest gap seen, else (one strike in the span) twice the span, the next standard step."""
    steps: dict[date, float] = {}
    for day in np.unique(expiry):
        seen = np.unique(strike[expiry == day])
        gaps = np.diff(seen)
        steps[day.item()] = float(gaps.min()) if gaps.size else 2 * span
    return steps


# --- pieces -------------------------------------------------------------------------------------


def _run(run: list[date], needed: Mapping[date, Need], every: list[date], step: Mapping[date, float]) -> list[Request]:
    """The cheaper way to fetch one run of needed expiries: both types at once, or one request each."""
    first, last = run[0], run[-1]
    between = [e for e in every if first <= e <= last]
    calls = _union_all(needed[e].call for e in run)
    puts = _union_all(needed[e].put for e in run)
    both = _union(calls, puts)
    together = [Request(first, last, *both, None, tuple(run), 2 * _count(between, both, step))]
    apart = [
        Request(first, last, *calls, "call", tuple(run), _count(between, calls, step)),
        Request(first, last, *puts, "put", tuple(run), _count(between, puts, step)),
    ]
    return min(together, apart, key=lambda requests: (sum(r.pages for r in requests), sum(r.rows for r in requests)))


def _count(expiries: list[date], strikes: Range, step: Mapping[date, float]) -> int:
    low, high = strikes
    return sum(max(0, math.floor(high / step[e] + 1e-9) - math.ceil(low / step[e] - 1e-9) + 1) for e in expiries)


def _atm_range(spot: float, years: float, step: float, config: EngineConfig, slack: Slack) -> Range:
    """The ATM_BAND_STRIKES strikes each side of the forward the ATM IV may read."""
    forward = spot * math.exp((config.risk_free_rate - config.dividend_yield) * years)
    reach = (ATM_BAND_STRIKES + slack.steps - 1) * step
    return forward * (1 - slack.spot) - reach, forward * (1 + slack.spot) + reach


def _wings(spot: float, iv: float, years: float, step: float, config: EngineConfig, slack: Slack) -> Range:
    """Beyond the strikes of the target-delta put and call: ln(K/S) = ∓z·σ√T + (r − q + σ²/2)·T,
    with z = N⁻¹(1 − target) and σ on the high side of the wing's IV."""
    z = NormalDist().inv_cdf(1 - config.target_delta)
    carry = config.risk_free_rate - config.dividend_yield
    call_iv, put_iv = iv * CALL_WING, iv * PUT_WING
    call = spot * math.exp(z * call_iv * math.sqrt(years) + (carry + call_iv * call_iv / 2) * years)
    put = spot * math.exp(-z * put_iv * math.sqrt(years) + min(carry, 0.0) * years)
    return put * (1 - slack.spot) - slack.steps * step, call * (1 + slack.spot) + slack.steps * step


def _years(expiries: Sequence[date], as_of: datetime) -> list[float]:
    if not expiries:
        return []
    values = years_to_expiry(np.array(expiries, dtype="datetime64[D]"), as_of)
    return [max(float(v), 1 / 365) for v in values]


def _filled_iv(listed: Sequence[date], iv: Mapping[date, float]) -> dict[date, float]:
    """Each listed expiry's IV, or its nearest neighbour's when the probe saw none there."""
    known = sorted((e, v) for e, v in iv.items() if v and math.isfinite(v) and v > 0)
    if not known:
        return {}
    return {e: min(known, key=lambda item: abs((item[0] - e).days))[1] for e in set(listed) | dict(known).keys()}


def _steps(listed: Sequence[date], steps: Mapping[date, float], spot: float) -> dict[date, float]:
    """Each expiry's strike step; an expiry the probe did not see gets the finest step seen (or the
    finest a price like this lists): more rows estimated, never fewer."""
    known = [s for s in steps.values() if s > 0]
    default = min(known) if known else (0.5 if spot < 25 else 1.0)
    return {e: steps.get(e) or default for e in listed}


def _union(a: Range, b: Range) -> Range:
    return min(a[0], b[0]), max(a[1], b[1])


def _union_all(ranges) -> Range:
    low, high = math.inf, -math.inf
    for a, b in ranges:
        low, high = min(low, a), max(high, b)
    return low, high


def _clip(strikes: Range, cap: Range) -> Range:
    return max(strikes[0], cap[0]), min(strikes[1], cap[1])
