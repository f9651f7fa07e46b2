"""The simulated market's state on one session of a run: listing, price paths, history, chains and
injected moves.

A run starts at its first session with the universe's profiles (their `price` is the close before
it) and moves on a session at a time (`advanced`): the previous close is the last price of the day
before's path, past sessions become daily bars, strikes accumulate, the term structures take their
daily step (days.py) and an earnings event, fixed at the run's start, passes. Everything is built
lazily per symbol (a chain takes a few ms) and owned by the server's event loop thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np

from marketsim.days import StrikeBook, event_move, term_state
from marketsim.earnings import EarningsReport, earnings_report
from marketsim.options import ChainListing, PricedRows, build_listing, price_rows
from marketsim.pricepath import HISTORY_SESSIONS, DailyBars, IntradayPath, daily_history
from marketsim.session import (
    AFTER_HOURS_END,
    NEW_YORK,
    at_new_york,
    is_session,
    session_bounds,
    sessions_before,
    sessions_between,
)
from marketsim.universe import UNIVERSE_SIZE, TickerProfile, build_universe

LISTING_REFERENCE_DELAY = 300.0  # strikes and the event size are fixed 5 minutes after the open
NO_EVENT = (float("inf"), 0.0)


def _tick(price: float) -> float:
    return round(price, 4 if price < 1 else 2)


@dataclass(frozen=True)
class DayBar:
    open: float
    high: float
    low: float
    close: float
    volume: int
    vwap: float
    transactions: int


@dataclass(frozen=True)
class PastDay:
    bar: DayBar  # the whole day, after-hours included
    last: float  # the price at the end of after-hours: the next session's previous close


def _bar(path: IntradayPath, epoch: float, factor: float) -> DayBar:
    high, low = path.day_range(epoch)
    close = _tick(path.price_at(epoch) * factor)
    volume = path.volume_until(epoch)
    return DayBar(
        open=_tick(path.open_price),
        high=_tick(max(high * factor, close)),
        low=_tick(min(low * factor, close)),
        close=close,
        volume=volume,
        vwap=round(path.day_vwap(epoch) * factor, 4),
        transactions=max(1, volume // 150),
    )


def _reference_epoch(day: date) -> float:
    return session_bounds(day)[0].timestamp() + LISTING_REFERENCE_DELAY


class DayProfiles(Mapping[str, TickerProfile]):
    """The profiles as of the session, priced on demand (a later day's previous close needs the
    symbol's earlier paths, a few ms each)."""

    def __init__(self, market: Market) -> None:
        self._market = market
        self._cache: dict[str, TickerProfile] = {}

    def __getitem__(self, symbol: str) -> TickerProfile:
        profile = self._cache.get(symbol)
        if profile is None:
            profile = self._cache[symbol] = self._market.day_profile(symbol)
        return profile

    def __iter__(self) -> Iterator[str]:
        return iter(self._market.base_profiles)

    def __len__(self) -> int:
        return len(self._market.base_profiles)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._market.base_profiles

    def forget(self, symbol: str) -> None:
        self._cache.pop(symbol, None)


class Market:
    def __init__(
        self, seed: int, session_date: date, first_session: date | None = None, names: int = UNIVERSE_SIZE
    ) -> None:
        """`names`: how many symbols the market lists (the default market's 600; more keep those
        600 and add names with the same spread of prices, volumes and listings, see universe.py)."""
        first = first_session or session_date
        if not is_session(session_date) or not is_session(first):
            raise ValueError(f"{first if not is_session(first) else session_date} is not an NYSE session")
        if first > session_date:
            raise ValueError(f"the run's first session {first} is after {session_date}")
        self.seed = seed
        self.names = names
        self.session_date = session_date
        self.first_session = first
        self.days = sessions_between(first, session_date)  # the run so far, oldest first
        opened, closed = session_bounds(session_date)
        self.open_epoch = opened.timestamp()
        self.close_epoch = closed.timestamp()
        self.tape_end_epoch = at_new_york(session_date, *AFTER_HOURS_END).timestamp()
        self.base_profiles: dict[str, TickerProfile] = build_universe(seed, names)  # as of each one's first day
        self.listed_since: dict[str, date] = {}  # scenario tickers added during the run
        self.profiles = DayProfiles(self)
        self._paths: dict[str, IntradayPath] = {}
        self._histories: dict[str, DailyBars] = {}
        self._listings: dict[str, ChainListing] = {}
        self._first_listings: dict[str, ChainListing] = {}
        self._past: dict[str, list[PastDay]] = {}
        self._strike_books: dict[str, StrikeBook] = {}
        self._moves: dict[str, list[tuple[float, float]]] = {}
        self._previous_sessions = sessions_before(session_date, HISTORY_SESSIONS)

    def advanced(self, to: date) -> Market:
        """The same run on a later session. Today's moves carry into the closes; what later days
        need of the earlier ones (closes, strike books, first listings) is handed over, not rebuilt."""
        if to <= self.session_date:
            raise ValueError(f"{to} is not after {self.session_date}")
        market = Market(self.seed, to, self.first_session, self.names)
        market.base_profiles = dict(self.base_profiles)
        market.listed_since = dict(self.listed_since)
        market._first_listings = dict(self._first_listings)
        market._strike_books = {symbol: book.copy() for symbol, book in self._strike_books.items()}
        for symbol in self.base_profiles:
            past = self._past.get(symbol)
            path = self._paths.get(symbol)
            if path is not None:
                factor = self._move_factor(symbol, self.tape_end_epoch)
                last = path.last_price if factor == 1.0 else round(path.last_price * factor, 4)
                today = PastDay(_bar(path, self.tape_end_epoch, factor), last)
                market._past[symbol] = [*self._past_days(symbol), today]
            elif past is not None:
                market._past[symbol] = list(past)
        return market

    # --- the run, per symbol --------------------------------------------------------------------

    def first_day(self, symbol: str) -> date:
        return self.listed_since.get(symbol, self.first_session)

    def _days(self, symbol: str) -> list[date]:
        first = self.first_day(symbol)
        return self.days if first == self.first_session else sessions_between(first, self.session_date)

    def _past_days(self, symbol: str) -> list[PastDay]:
        """The symbol's sessions of the run before today, oldest first, computed on first need."""
        days = self._days(symbol)
        past = self._past.setdefault(symbol, [])
        base = self.base_profiles[symbol]
        while len(past) < len(days) - 1:
            day = days[len(past)]
            previous = past[-1].last if past else base.price
            path = IntradayPath(self.seed, replace(base, price=previous), day, self._open_jump(symbol, day))
            end = at_new_york(day, *AFTER_HOURS_END).timestamp()
            past.append(PastDay(_bar(path, end, 1.0), path.last_price))
        return past

    def day_profile(self, symbol: str) -> TickerProfile:
        base = self.base_profiles[symbol]
        past = self._past_days(symbol)
        if not past:
            return base
        slope, level = term_state(self.seed, base, self._days(symbol))
        return replace(base, price=past[-1].last, term_slope=slope, iv_level=level)

    def first_listing(self, symbol: str) -> ChainListing:
        """The listing of the symbol's first session: its event (earnings) holds for the whole run."""
        listing = self._first_listings.get(symbol)
        if listing is None:
            first = self.first_day(symbol)
            base = self.base_profiles[symbol]
            listing = self._first_listings[symbol] = build_listing(self.seed, base, first, _reference_epoch(first))
        return listing

    def event(self, symbol: str) -> tuple[float, float]:
        """(epoch, variance) of the symbol's front-month event in this run; (inf, 0) without one."""
        profile = self.base_profiles[symbol]
        if profile.ff_bump is None or not profile.has_options:
            return NO_EVENT
        listing = self.first_listing(symbol)
        return listing.event_epoch, listing.event_variance

    def _open_jump(self, symbol: str, day: date) -> float:
        epoch, variance = self.event(symbol)
        if math.isinf(epoch) or datetime.fromtimestamp(epoch, NEW_YORK).date() != day:
            return 0.0
        return event_move(self.seed, symbol, day, variance)

    def earnings_report(self, symbol: str) -> EarningsReport | None:
        profile = self.base_profiles.get(symbol)
        if profile is None or profile.ff_bump is None or not profile.has_options:
            return None  # only the names with an event build a listing here (a few ms each)
        return earnings_report(self.seed, self.first_listing(symbol), self.first_day(symbol))

    def _strikes(self, symbol: str) -> dict[date, np.ndarray]:
        book = self._strike_books.setdefault(symbol, StrikeBook())
        days, past = self._days(symbol), self._past_days(symbol)
        base = self.base_profiles[symbol]
        while book.days_seen < len(days):
            index = book.days_seen
            previous = past[index - 1].last if index else base.price
            book.add_day(replace(base, price=previous), days[index], _reference_epoch(days[index]))
        return book.strikes

    # --- today ----------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return sorted(self.base_profiles)

    def profile(self, symbol: str) -> TickerProfile | None:
        return self.profiles.get(symbol)

    def add(self, profile: TickerProfile) -> None:
        """A scenario ticker: listed from today on at `profile.price` (its previous close)."""
        symbol = profile.symbol
        self.base_profiles[symbol] = profile
        self.listed_since[symbol] = self.session_date
        self.profiles.forget(symbol)
        caches = (self._paths, self._histories, self._listings, self._first_listings, self._past)
        for cache in (*caches, self._strike_books, self._moves):
            cache.pop(symbol, None)

    def path(self, symbol: str) -> IntradayPath:
        path = self._paths.get(symbol)
        if path is None:
            profile = self.profiles[symbol]
            jump = self._open_jump(symbol, self.session_date)
            path = self._paths[symbol] = IntradayPath(self.seed, profile, self.session_date, jump)
        return path

    def _move_factor(self, symbol: str, epoch: float) -> float:
        moves = self._moves.get(symbol)
        if not moves:
            return 1.0
        return math.exp(sum(jump for at, jump in moves if at <= epoch))

    def spot(self, symbol: str, epoch: float) -> float:
        return _tick(self.path(symbol).price_at(epoch) * self._move_factor(symbol, epoch))

    def inject_move(self, symbol: str, pct: float, epoch: float) -> tuple[float, float]:
        if pct <= -100:
            raise ValueError("a move must keep the price positive (pct > -100)")
        before = self.spot(symbol, epoch)
        self._moves.setdefault(symbol, []).append((epoch, math.log1p(pct / 100.0)))
        return before, self.spot(symbol, epoch)

    def today(self, symbol: str, epoch: float) -> DayBar | None:
        """The simulated session's bar so far; None before the open."""
        if epoch < self.open_epoch:
            return None
        return _bar(self.path(symbol), epoch, self._move_factor(symbol, epoch))

    def window_bar(self, symbol: str, start: float, end: float) -> DayBar:
        """The bar of [start, end) in the simulated session (per-second and per-minute aggregates)."""
        path = self.path(symbol)
        opened, closed = self.spot(symbol, start), self.spot(symbol, end)
        high, low = path.window_range(start, end)
        factor = self._move_factor(symbol, end)
        high, low = max(high * factor, opened, closed), min(low * factor, opened, closed)
        volume = max(path.volume_until(end) - path.volume_until(start), 0)
        return DayBar(
            open=opened,
            high=_tick(high),
            low=_tick(low),
            close=closed,
            volume=volume,
            vwap=round((opened + high + low + closed) / 4, 4),
            transactions=max(1, volume // 150) if volume else 0,
        )

    def day_so_far(self, symbol: str, epoch: float) -> tuple[float, int, float]:
        """Day open, day volume and day VWAP at `epoch`: the cheap part of `today` the stream needs."""
        path = self.path(symbol)
        vwap = path.day_vwap(epoch) * self._move_factor(symbol, epoch)
        return _tick(path.open_price), path.volume_until(epoch), round(vwap, 4)

    def history(self, symbol: str) -> DailyBars:
        """The made-up bars before the symbol's first simulated session (index 0: the session before)."""
        bars = self._histories.get(symbol)
        if bars is None:
            first = self.first_day(symbol)
            bars = self._histories[symbol] = daily_history(self.seed, self.base_profiles[symbol], first)
        return bars

    def sessions_back(self, day: date) -> int | None:
        """0 for the previous session, 1 for the one before, ...; None when not a known past session."""
        try:
            return self._previous_sessions.index(day)
        except ValueError:
            return None

    def past_bar(self, symbol: str, back: int) -> DayBar:
        past = self._past_days(symbol)
        if back < len(past):
            return past[len(past) - 1 - back].bar
        bars, back = self.history(symbol), back - len(past)
        return DayBar(
            open=float(bars.open[back]),
            high=float(bars.high[back]),
            low=float(bars.low[back]),
            close=float(bars.close[back]),
            volume=int(bars.volume[back]),
            vwap=float(bars.vwap[back]),
            transactions=int(bars.transactions[back]),
        )

    def listing(self, symbol: str) -> ChainListing | None:
        profile = self.profiles.get(symbol)
        if profile is None or not profile.has_options:
            return None
        listing = self._listings.get(symbol)
        if listing is None:
            if self.first_day(symbol) == self.session_date:
                listing = self.first_listing(symbol)
            else:
                reference = self.open_epoch + LISTING_REFERENCE_DELAY
                strikes, event = self._strikes(symbol), self.event(symbol)
                listing = build_listing(self.seed, profile, self.session_date, reference, strikes, event)
            self._listings[symbol] = listing
        return listing

    def price_contracts(self, symbol: str, rows: np.ndarray, epoch: float) -> PricedRows:
        listing = self.listing(symbol)
        assert listing is not None
        return price_rows(
            self.profiles[symbol], listing, rows, self.spot(symbol, epoch), epoch, self.open_epoch, self.close_epoch
        )
