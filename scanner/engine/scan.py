"""One chain in, every configured pair and structure out: the signal engine (DESIGN.md §3).

Pure computation: time comes in as as_of (default: the snapshot's own timestamp); no Django, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TypedDict

import numpy as np

from .bsm import MAX_VOL, MIN_VOL, bsm_deltas, implied_vol
from .chain import OptionChain
from .config import EngineConfig
from .costs import spread_costs
from .forward import ONE_DAY, ex_earnings_vol, forward_factor, forward_variance, forward_vol
from .selection import PairPick, earnings_brackets, listed_dtes, select_pairs
from .signal import FFSignal, Leg, LegName, Structure
from .term import TERM_STRUCTURE_MAX_DTE, TermPoint, term_structure
from .timing import SECONDS_PER_YEAR, expiry_close_epoch, trading_date, years_to_expiry

ATM_BAND_STRIKES = 3  # distinct strikes each side of the forward whose IVs the ATM figure may use


@dataclass(frozen=True)
class EarningsInput:
    """A known earnings date; expected_move is the one-day move as a fraction (0.05 = 5%), None: estimate."""

    date: date
    expected_move: float | None = None


@dataclass
class ChainScan:
    """The signals of one chain, the notes saying why a pair or structure gave none, and the term
    structure. ``no_pair``: the ticker lists options but no configured pair fits its expiries (a
    completed scan with nothing to evaluate, not a lack of quotes)."""

    ticker: str
    as_of: datetime
    underlying_price: float
    contracts: int
    dropped: dict[str, int]
    signals: list[FFSignal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    term_structure: list[TermPoint] = field(default_factory=list)
    no_pair: bool = False


def _member(values: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """``np.isin(values, distinct)`` for ``distinct`` sorted and unique, by binary search: ``isin``
    sorts both arrays again."""
    if not distinct.size:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(distinct, values), distinct.size - 1)
    return distinct[at] == values


class _Expiry:
    """The rows of one expiry, its time, forward and contract lookup."""

    def __init__(self, chain: OptionChain, expiry: date, rows: np.ndarray, as_of: datetime, config: EngineConfig):
        self.expiry = expiry
        self.rows = rows
        self.years = (expiry_close_epoch(expiry) - as_of.timestamp()) / SECONDS_PER_YEAR
        self.dte = (expiry - trading_date(as_of)).days
        self.forward = chain.underlying_price * math.exp((config.risk_free_rate - config.dividend_yield) * self.years)
        self.by_contract = dict(zip(zip(chain.is_call[rows].tolist(), chain.strike[rows].tolist()), rows.tolist()))
        self._strikes = chain.strike[rows]
        self._is_call = chain.is_call[rows]

    @cached_property
    def call_strikes(self) -> np.ndarray:
        """The distinct call strikes, ascending."""
        return np.unique(self._strikes[self._is_call])

    @cached_property
    def put_strikes(self) -> np.ndarray:
        return np.unique(self._strikes[~self._is_call])

    def lists(self, is_call: np.ndarray, strikes: np.ndarray) -> np.ndarray:
        """Whether this expiry lists each (type, strike) given (what ``(is_call, strike) in
        by_contract`` tells, a whole array at once)."""
        return np.where(is_call, _member(strikes, self.call_strikes), _member(strikes, self.put_strikes))

    @cached_property
    def band_rows(self) -> np.ndarray:
        """Rows whose strike is among the ATM_BAND_STRIKES distinct strikes each side of the forward."""
        distinct = np.unique(self._strikes)
        position = int(np.searchsorted(distinct, self.forward))
        chosen = distinct[max(0, position - ATM_BAND_STRIKES) : position + ATM_BAND_STRIKES]
        return self.rows[_member(self._strikes, chosen)]


class _Engine:
    def __init__(self, chain: OptionChain, config: EngineConfig, as_of: datetime):
        self.chain = chain
        self.config = config
        self.as_of = as_of
        self.today = trading_date(as_of)
        n = len(chain)
        self.mid = 0.5 * (chain.bid + chain.ask)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.spread_pct = (chain.ask - chain.bid) / self.mid * 100.0
        self.iv = np.full(n, np.nan)
        self.iv_known = np.zeros(n, dtype=bool)
        self.solved = np.zeros(n, dtype=bool)
        self.expiries: dict[date, _Expiry] = {}

    def expiry(self, expiry: date) -> _Expiry:
        if expiry not in self.expiries:
            rows = np.flatnonzero(self.chain.expiry == np.datetime64(expiry, "D"))
            self.expiries[expiry] = _Expiry(self.chain, expiry, rows, self.as_of, self.config)
        return self.expiries[expiry]

    def ensure_iv(self, rows: np.ndarray) -> None:
        """Vendor IV when sane, else solved from the mid (only quotes narrow enough to mean something)."""
        rows = rows[~self.iv_known[rows]]
        if not rows.size:
            return
        chain, config = self.chain, self.config
        vendor = chain.vendor_iv[rows]
        sane = (vendor > MIN_VOL) & (vendor < MAX_VOL)
        self.iv[rows[sane]] = vendor[sane]
        unsolved = rows[~sane & (self.spread_pct[rows] <= config.iv_max_spread_pct)]
        if unsolved.size:
            years = years_to_expiry(chain.expiry[unsolved], self.as_of)
            self.iv[unsolved] = implied_vol(
                self.mid[unsolved],
                chain.underlying_price,
                chain.strike[unsolved],
                years,
                chain.is_call[unsolved],
                config.risk_free_rate,
                config.dividend_yield,
            )
            self.solved[unsolved] = np.isfinite(self.iv[unsolved])
        self.iv_known[rows] = True

    def atm_iv(self, expiry: _Expiry) -> tuple[float | None, bool]:
        """IV at the forward: per type, linear in strike between the nearest valid strikes around F;
        calls and puts averaged where both exist. Also whether any input was solved from a mid."""
        rows = expiry.band_rows
        values, from_mid = [], False
        for is_call in (True, False):
            typed = rows[(self.chain.is_call[rows] == is_call) & np.isfinite(self.iv[rows])]
            strikes = self.chain.strike[typed]
            below, above = typed[strikes <= expiry.forward], typed[strikes >= expiry.forward]
            if not below.size or not above.size:
                continue
            low = below[np.argmax(self.chain.strike[below])]
            high = above[np.argmin(self.chain.strike[above])]
            k_low, k_high = self.chain.strike[low], self.chain.strike[high]
            weight = 0.0 if k_high == k_low else (expiry.forward - k_low) / (k_high - k_low)
            values.append((1 - weight) * self.iv[low] + weight * self.iv[high])
            from_mid = from_mid or bool(self.solved[low] or self.solved[high])
        if not values:
            return None, False
        return float(sum(values) / len(values)), from_mid

    def deltas(self, groups: list[tuple[np.ndarray, _Expiry]]) -> list[np.ndarray]:
        """Each group's deltas (rows of one expiry): the vendor's where given, else ours from the IV."""
        chain, config = self.chain, self.config
        ours = bsm_deltas(
            chain.underlying_price,
            [(chain.strike[rows], expiry.years, self.iv[rows], chain.is_call[rows]) for rows, expiry in groups],
            config.risk_free_rate,
            config.dividend_yield,
        )
        return [
            np.where(np.isfinite(vendor), vendor, mine)
            for vendor, mine in zip((chain.vendor_delta[rows] for rows, _ in groups), ours)
        ]

    def stale(self, rows: list[int]) -> bool:
        limit_ns = self.config.stale_quote_minutes * 60e9
        now_ns = self.as_of.timestamp() * 1e9
        return any(0 < self.chain.quote_time_ns[r] < now_ns - limit_ns for r in rows)

    def leg(self, name: LegName, row: int) -> Leg:
        chain = self.chain
        return {
            "leg": name,
            "contract_type": "call" if chain.is_call[row] else "put",
            "expiry": chain.expiry[row].item().isoformat(),
            "strike": float(chain.strike[row]),
            "bid": float(chain.bid[row]),
            "ask": float(chain.ask[row]),
            "mid": float(self.mid[row]),
            "spread_pct": float(self.spread_pct[row]),
            "open_interest": _number(chain.open_interest[row]),
            "volume": _number(chain.volume[row]),
            "iv": _number(self.iv[row]),
            "iv_source": "mid" if self.solved[row] else ("vendor" if np.isfinite(self.iv[row]) else None),
        }

    def liquidity_reasons(self, legs: list[Leg]) -> list[str]:
        config, reasons = self.config, []
        for leg in legs:
            name = leg["leg"]
            for label, value, floor in (
                ("open interest", leg["open_interest"], config.min_open_interest),
                ("volume", leg["volume"], config.min_volume),
            ):
                if value is None:
                    reasons.append(f"{name} {label} unknown")
                elif value < floor:
                    reasons.append(f"{name} {label} {value:g} < {floor:g}")
            if leg["spread_pct"] > config.max_spread_pct:
                reasons.append(f"{name} spread {leg['spread_pct']:.1f}% of mid > {config.max_spread_pct:g}%")
        return reasons


def _any_pair(picks: list[PairPick]) -> bool:
    return any(pick.front and pick.back for pick in picks)


def _no_pair_note(listed: Sequence[date], as_of: datetime) -> str:
    dtes = listed_dtes(listed, as_of)
    shown = ", ".join(f"{expiry.isoformat()} ({dte} DTE)" for expiry, dte in list(dtes.items())[:12])
    more = f", … ({len(dtes)} in all)" if len(dtes) > 12 else ""
    return f"no pair within tolerance: listed expiries {shown or 'none'}{more}"


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _iso(day: date) -> str:
    return day.isoformat()


def scan_chain(
    chain: OptionChain,
    config: EngineConfig = EngineConfig(),
    as_of: datetime | None = None,
    earnings: tuple[EarningsInput, ...] | list[EarningsInput] = (),
    listed: Sequence[date] = (),
    probe_iv: Mapping[date, float] | None = None,
) -> ChainScan:
    """Every configured pair and structure of one chain as signals, with notes saying why a pair or
    structure gave nothing. Inverted pairs and forward vols below the floor come back with ff None.

    ``listed``: every expiry the ticker lists, when the caller knows more than the chain holds (a
    fetch reads only the expiries the pairs need): an empty chain of a ticker whose listed expiries
    fit no pair is then reported as ``no_pair`` with those expiries. ``probe_iv``: near-the-money
    IVs of expiries the chain may not hold, for the term structure (source "probe").
    """
    as_of = as_of or chain.as_of
    result = ChainScan(chain.ticker, as_of, chain.underlying_price, len(chain), dict(chain.dropped))
    probe_iv = probe_iv or {}
    if not len(chain):
        result.term_structure = term_structure({}, probe_iv, trading_date(as_of))
        picks = select_pairs(listed, as_of, config) if listed else []
        if picks and not _any_pair(picks):
            result.no_pair = True
            result.notes.append(_no_pair_note(listed, as_of))
            result.notes.extend(pick.note for pick in picks if pick.note)
            return result
        dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(chain.dropped.items()))
        result.notes.append(f"no usable quotes in the chain ({'dropped: ' + dropped if dropped else 'empty'})")
        return result
    if not (math.isfinite(chain.underlying_price) and chain.underlying_price > 0):
        result.notes.append(f"underlying price {chain.underlying_price} is not usable")
        return result
    engine = _Engine(chain, config, as_of)
    in_chain = np.unique(chain.expiry).tolist()  # datetime.date each, in one call
    picks = select_pairs(in_chain, as_of, config)
    every_listed = sorted(set(listed) | set(in_chain))
    if not _any_pair(select_pairs(every_listed, as_of, config) if listed else picks):
        result.no_pair = True
        result.notes.append(_no_pair_note(every_listed, as_of))
    result.notes.extend(pick.note for pick in picks if pick.note)
    dtes = listed_dtes(in_chain, as_of)
    events = [e for e in earnings if e.date > engine.today]

    needed: set[date] = set()
    for pick in picks:
        needed.update(pick.front_brackets, pick.back_brackets)
        if pick.front and pick.back:
            needed.update((pick.front, pick.back))
    for event in events:
        needed.update(earnings_brackets(dtes, event.date))
    # The term structure's chain points are the expiries the scan reads anyway (a fetched chain holds
    # just those); the probe's IVs fill the rest of the year. Solving every expiry of a full chain
    # for the chart would cost more than the scan itself.
    charted = {e for e in needed if dtes.get(e, TERM_STRUCTURE_MAX_DTE + 1) <= TERM_STRUCTURE_MAX_DTE}
    first_pass = [engine.expiry(e).band_rows for e in sorted(needed | charted)]
    if "double_calendar" in config.structures:
        # both expiries of each pair: the back legs are the twins of front wings not yet picked, and
        # the solver's time goes to numpy's per-call overhead far more than to the rows
        first_pass += [engine.expiry(e).rows for p in picks if p.front and p.back for e in (p.front, p.back)]
    if first_pass:
        engine.ensure_iv(np.unique(np.concatenate(first_pass)))
    atm = {e: engine.atm_iv(engine.expiry(e)) for e in sorted(needed | charted)}
    chain_iv = {e: iv for e, (iv, _) in atm.items() if iv is not None}
    result.term_structure = term_structure(chain_iv, probe_iv, engine.today)

    pairs = [(pick, engine.expiry(pick.front), engine.expiry(pick.back)) for pick in picks if pick.front and pick.back]
    atm_legs = [
        _atm_legs(front, back) if "atm_call_calendar" in config.structures else None for _, front, back in pairs
    ]
    wings: list[_Wings | None] = [None] * len(pairs)
    if "double_calendar" in config.structures:
        wings = list(_wings(engine, [(front, back) for _, front, back in pairs]))
    # Every leg's IV in one solve before any pair is built (each build then finds its legs known):
    # the solver's time goes to numpy's per-call overhead far more than to the rows.
    leg_rows = [row for found in atm_legs if found for row in found[1]]
    leg_rows += [row for wing in wings if wing and wing.rows for row in wing.rows]
    if leg_rows:
        engine.ensure_iv(np.array(leg_rows, dtype=np.intp))
    for (pick, front, back), atm_leg, wing in zip(pairs, atm_legs, wings):
        base = _pair_base(engine, pick, front, back, atm, events, dtes)
        if "atm_call_calendar" in config.structures:
            signal = _atm_call_calendar(engine, pick, front, back, atm, base, atm_leg, result.notes)
            if signal:
                result.signals.append(signal)
        if "double_calendar" in config.structures:
            signal = _double_calendar(engine, pick, front, back, base, wing, result.notes)
            if signal:
                result.signals.append(signal)
    if not result.signals and not result.notes:
        result.notes.append("no pair produced a signal")
    return result


class _PairBase(TypedDict):
    ff_constant_maturity: float | None
    earnings: list[EarningsInput]  # known events on or before the back expiry
    moves: dict[date, float | None]  # their one-day moves; None: not known nor estimable


class _Side(TypedDict):
    """One front/back IV couple: its FF, or the flags and reasons why it has none."""

    front_iv: float | None
    back_iv: float | None
    forward_iv: float | None
    ff: float | None
    flags: list[str]
    reasons: list[str]


def _pair_base(
    engine: _Engine,
    pick: PairPick,
    front: _Expiry,
    back: _Expiry,
    atm: dict[date, tuple[float | None, bool]],
    events: list[EarningsInput],
    dtes: dict[date, int],
) -> _PairBase:
    """What both structures of a pair share: the constant-maturity figure and the earnings context."""
    inside = [e for e in events if e.date <= back.expiry]
    moves: dict[date, float | None] = {}
    for event in inside:
        moves[event.date] = event.expected_move if event.expected_move else _estimated_move(engine, dtes, event, atm)
    return {
        "ff_constant_maturity": _constant_maturity_ff(engine, pick, atm),
        "earnings": inside,
        "moves": moves,
    }


def _estimated_move(
    engine: _Engine, dtes: dict[date, int], event: EarningsInput, atm: dict[date, tuple[float | None, bool]]
) -> float | None:
    """The event's one-day move implied by the expiries around it, assuming the pre-event expiry's
    volatility carries on: m² = σ_post²T_post − σ_pre²(T_post − 1/365)."""
    brackets = earnings_brackets(dtes, event.date)
    if not brackets:
        return None
    pre, post = (engine.expiry(e) for e in brackets)
    pre_iv, post_iv = atm.get(pre.expiry, (None, False))[0], atm.get(post.expiry, (None, False))[0]
    if pre_iv is None or post_iv is None:
        return None
    squared = post_iv**2 * post.years - pre_iv**2 * (post.years - ONE_DAY)
    return math.sqrt(squared) if squared > 0 else None


def _constant_maturity_ff(engine: _Engine, pick: PairPick, atm: dict[date, tuple[float | None, bool]]) -> float | None:
    """FF from ATM IVs at exactly the pair's DTEs: total variance linear in time between the brackets
    (``constant_maturity_brackets``: preferably the pair expiries themselves, never extrapolated)."""
    vols = []
    for days, brackets in ((pick.front_days, pick.front_brackets), (pick.back_days, pick.back_brackets)):
        target = expiry_close_epoch(engine.today + timedelta(days=days)) - engine.as_of.timestamp()
        target_years = target / SECONDS_PER_YEAR
        points = []
        for expiry in brackets:
            iv = atm.get(expiry, (None, False))[0]
            if iv is None:
                return None
            points.append((engine.expiry(expiry).years, iv * iv * engine.expiry(expiry).years))
        if not points or target_years <= 0:
            return None
        if len(points) == 1:
            variance = points[0][1]
        else:
            (t_a, w_a), (t_b, w_b) = points
            variance = w_a + (w_b - w_a) * (target_years - t_a) / (t_b - t_a)
        if variance <= 0:
            return None
        vols.append((math.sqrt(variance / target_years), target_years))
    (front_iv, front_years), (back_iv, back_years) = vols
    return forward_factor(front_iv, front_years, back_iv, back_years, engine.config.forward_vol_floor)


def _side(engine: _Engine, front_iv: float | None, front: _Expiry, back_iv: float | None, back: _Expiry) -> _Side:
    """FF of one front/back IV couple with the reasons it may have none."""
    floor = engine.config.forward_vol_floor
    if front_iv is None or back_iv is None:
        return {
            "front_iv": front_iv,
            "back_iv": back_iv,
            "forward_iv": None,
            "ff": None,
            "flags": [],
            "reasons": [f"no IV for the {'front' if front_iv is None else 'back'} expiry"],
        }
    variance = forward_variance(front_iv, front.years, back_iv, back.years)
    sigma = forward_vol(front_iv, front.years, back_iv, back.years)
    flags: list[str] = []
    reasons: list[str] = []
    if variance is not None and variance <= 0:
        flags.append("inverted")
        reasons.append(f"inverted: forward variance {variance:.4g} <= 0")
    elif sigma is not None and sigma < floor:
        flags.append("forward_vol_below_floor")
        reasons.append(f"forward vol {sigma:.2%} below floor {floor:.0%}")
    ff = forward_factor(front_iv, front.years, back_iv, back.years, floor)
    return {"front_iv": front_iv, "back_iv": back_iv, "forward_iv": sigma, "ff": ff, "flags": flags, "reasons": reasons}


def _ex_earnings_ff(
    engine: _Engine, base: _PairBase, front: _Expiry, back: _Expiry, front_iv: float | None, back_iv: float | None
) -> float | None:
    if not base["earnings"] or front_iv is None or back_iv is None:
        return None
    moves = base["moves"]
    if any(m is None for m in moves.values()):
        return None
    front_ex = ex_earnings_vol(front_iv, front.years, [m for d, m in moves.items() if d <= front.expiry])
    back_ex = ex_earnings_vol(back_iv, back.years, list(moves.values()))
    if front_ex is None or back_ex is None:
        return None
    return forward_factor(front_ex, front.years, back_ex, back.years, engine.config.forward_vol_floor)


def _signal(
    engine: _Engine,
    pick: PairPick,
    front: _Expiry,
    back: _Expiry,
    base: _PairBase,
    structure: Structure,
    legs: list[Leg],
    rows: list[int],
    from_mid: bool,
    strike: float,
    ranking: _Side,
    ff_ex_earnings: float | None,
) -> FFSignal:
    """The signal of one structure; ``ranking`` is the side its FF and IVs come from. The caller adds
    the sides' own flags and reasons."""
    flags = []
    if base["earnings"]:
        flags.append("earnings_in_window")
        if any(m is None for m in base["moves"].values()):
            flags.append("earnings_move_unknown")
    if engine.stale(rows):
        flags.append("stale_quotes")
    if from_mid or any(leg["iv_source"] == "mid" for leg in legs):
        flags.append("iv_solved_from_mid")
    reasons = engine.liquidity_reasons(legs)
    return {
        "ticker": engine.chain.ticker,
        "structure": structure,
        "pair": pick.label,
        "front_expiry": _iso(front.expiry),
        "back_expiry": _iso(back.expiry),
        "front_dte": front.dte,
        "back_dte": back.dte,
        "strike": strike,
        "front_iv": ranking["front_iv"],
        "back_iv": ranking["back_iv"],
        "forward_iv": ranking["forward_iv"],
        "ff": ranking["ff"],
        "ff_constant_maturity": base["ff_constant_maturity"],
        "ff_constant_maturity_basis": "atm_forward_total_variance",
        "ff_ex_earnings": ff_ex_earnings,
        "earnings_dates": [_iso(e.date) for e in base["earnings"]],
        **spread_costs(legs),
        "legs": legs,
        "underlying_price": engine.chain.underlying_price,
        "as_of": engine.as_of.isoformat(),
        "passes_liquidity": not reasons,
        "reasons": reasons,
        "flags": flags,
    }


def _atm_legs(front: _Expiry, back: _Expiry) -> tuple[float, list[int]] | None:
    """The call strike listed in both expiries nearest the front's forward (the lower on a tie) and
    its front and back rows; None when no call strike is listed in both."""
    strikes = np.intersect1d(front.call_strikes, back.call_strikes, assume_unique=True)
    if not strikes.size:
        return None
    strike = float(strikes[np.argmin(np.abs(strikes - front.forward))])  # ascending: a tie takes the lower
    return strike, [front.by_contract[(True, strike)], back.by_contract[(True, strike)]]


def _atm_call_calendar(
    engine: _Engine,
    pick: PairPick,
    front: _Expiry,
    back: _Expiry,
    atm: dict[date, tuple[float | None, bool]],
    base: _PairBase,
    legs_at: tuple[float, list[int]] | None,
    notes: list[str],
) -> FFSignal | None:
    if legs_at is None:
        notes.append(f"{pick.label} atm_call_calendar: no call strike listed in both expiries")
        return None
    strike, rows = legs_at
    engine.ensure_iv(np.array(rows))
    legs = [engine.leg("front_call", rows[0]), engine.leg("back_call", rows[1])]
    front_iv, front_mid = atm[front.expiry]
    back_iv, back_mid = atm[back.expiry]
    side = _side(engine, front_iv, front, back_iv, back)
    ff_ex_earnings = _ex_earnings_ff(engine, base, front, back, front_iv, back_iv)
    signal = _signal(
        engine,
        pick,
        front,
        back,
        base,
        "atm_call_calendar",
        legs,
        rows,
        front_mid or back_mid,
        strike,
        side,
        ff_ex_earnings,
    )
    signal["flags"] += side["flags"]
    signal["reasons"] += side["reasons"]
    return signal


@dataclass
class _Wings:
    """A double calendar's picks: per side (True: call) the front row nearest the target delta and
    its delta; ``rows`` the four legs (front call, back call, front put, back put) when both sides
    have one."""

    picked: dict[bool, int]
    delta: dict[bool, float]
    rows: list[int] | None


def _wings(engine: _Engine, pairs: list[tuple[_Expiry, _Expiry]]) -> list[_Wings]:
    """Each pair's wings. The candidates are the front contracts with a valid IV whose twin the back
    expiry lists, calls and puts together: one delta computation serves every pair, both sides and
    the legs."""
    if not pairs:
        return []
    chain = engine.chain
    listed = []
    for front, back in pairs:
        valid = front.rows[np.isfinite(engine.iv[front.rows])]
        listed.append(valid[back.lists(chain.is_call[valid], chain.strike[valid])])
    deltas = engine.deltas([(rows, front) for rows, (front, _) in zip(listed, pairs)])
    return [_picked_wings(engine, back, rows, delta) for (_, back), rows, delta in zip(pairs, listed, deltas)]


def _picked_wings(engine: _Engine, back: _Expiry, listed: np.ndarray, listed_deltas: np.ndarray) -> _Wings:
    chain, target = engine.chain, engine.config.target_delta
    picked: dict[bool, int] = {}
    picked_delta: dict[bool, float] = {}
    for is_call in (True, False):
        typed = chain.is_call[listed] == is_call
        rows, deltas = listed[typed], listed_deltas[typed]
        if rows.size:
            distance = np.abs(np.abs(deltas) - target)
            if np.isfinite(distance).any():
                best = int(np.nanargmin(distance))
                picked[is_call], picked_delta[is_call] = int(rows[best]), float(deltas[best])
    legs = None
    if len(picked) == 2:
        call, put = picked[True], picked[False]
        call_strike, put_strike = float(chain.strike[call]), float(chain.strike[put])
        legs = [call, back.by_contract[(True, call_strike)], put, back.by_contract[(False, put_strike)]]
    return _Wings(picked, picked_delta, legs)


def _double_calendar(
    engine: _Engine, pick: PairPick, front: _Expiry, back: _Expiry, base: _PairBase, wings: _Wings, notes: list[str]
) -> FFSignal | None:
    chain, picked, rows = engine.chain, wings.picked, wings.rows
    if rows is None:
        notes.append(
            f"{pick.label} double_calendar: no {engine.config.target_delta:.0%}-delta "
            f"{'call' if True not in picked else 'put'} with a valid IV listed in both expiries"
        )
        return None
    call_strike, put_strike = float(chain.strike[picked[True]]), float(chain.strike[picked[False]])
    engine.ensure_iv(np.array(rows))
    names: tuple[LegName, ...] = ("front_call", "back_call", "front_put", "back_put")
    legs = [engine.leg(name, row) for name, row in zip(names, rows)]
    legs[0]["delta"], legs[2]["delta"] = wings.delta[True], wings.delta[False]
    call = _side(engine, legs[0]["iv"], front, legs[1]["iv"], back)
    put = _side(engine, legs[2]["iv"], front, legs[3]["iv"], back)
    # The ranking side: the lower FF, or the side that has none (it is why the pair has none), so
    # its FF is min_ff in every case.
    limiting = min((call, put), key=lambda s: (s["ff"] is not None, s["ff"] if s["ff"] is not None else 0))
    ex_sides = [_ex_earnings_ff(engine, base, front, back, legs[i]["iv"], legs[i + 1]["iv"]) for i in (0, 2)]
    ff_ex_earnings = min(v for v in ex_sides if v is not None) if None not in ex_sides else None
    signal = _signal(
        engine, pick, front, back, base, "double_calendar", legs, rows, False, call_strike, limiting, ff_ex_earnings
    )
    signal.update(
        put_strike=put_strike,
        call_ff=call["ff"],
        put_ff=put["ff"],
        min_ff=limiting["ff"],
        call_forward_iv=call["forward_iv"],
        put_forward_iv=put["forward_iv"],
    )
    for side_name, side in (("call", call), ("put", put)):
        signal["reasons"] += [f"{side_name} side {reason}" for reason in side["reasons"]]
        signal["flags"] += [flag for flag in side["flags"] if flag not in signal["flags"]]
    return signal


def scan_snapshot(
    chain: OptionChain, config: EngineConfig = EngineConfig(), earnings: Sequence[EarningsInput] = ()
) -> list[FFSignal]:
    """The signals of one chain snapshot, timed by the snapshot's own timestamp (never the wall clock)."""
    return scan_chain(chain, config, chain.as_of, list(earnings)).signals
