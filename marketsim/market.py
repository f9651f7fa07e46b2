"""The simulated market's state: listing, price paths, history, chains and injected moves.

Built lazily per symbol (a chain takes a few ms) and owned by the server's event loop thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from marketsim.options import ChainListing, PricedRows, build_listing, price_rows
from marketsim.pricepath import HISTORY_SESSIONS, DailyBars, IntradayPath, daily_history
from marketsim.session import AFTER_HOURS_END, at_new_york, session_bounds, sessions_before
from marketsim.universe import TickerProfile, build_universe

LISTING_REFERENCE_DELAY = 300.0  # strikes and the event size are fixed 5 minutes after the open


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


class Market:
    def __init__(self, seed: int, session_date: date) -> None:
        self.seed = seed
        self.session_date = session_date
        opened, closed = session_bounds(session_date)
        self.open_epoch = opened.timestamp()
        self.close_epoch = closed.timestamp()
        self.tape_end_epoch = at_new_york(session_date, *AFTER_HOURS_END).timestamp()
        self.profiles: dict[str, TickerProfile] = build_universe(seed)
        self._paths: dict[str, IntradayPath] = {}
        self._histories: dict[str, DailyBars] = {}
        self._listings: dict[str, ChainListing] = {}
        self._moves: dict[str, list[tuple[float, float]]] = {}
        self._previous_sessions = sessions_before(session_date, HISTORY_SESSIONS)

    def symbols(self) -> list[str]:
        return sorted(self.profiles)

    def profile(self, symbol: str) -> TickerProfile | None:
        return self.profiles.get(symbol)

    def add(self, profile: TickerProfile) -> None:
        self.profiles[profile.symbol] = profile
        for cache in (self._paths, self._histories, self._listings, self._moves):
            cache.pop(profile.symbol, None)

    def path(self, symbol: str) -> IntradayPath:
        path = self._paths.get(symbol)
        if path is None:
            path = self._paths[symbol] = IntradayPath(self.seed, self.profiles[symbol], self.session_date)
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
        path, factor = self.path(symbol), self._move_factor(symbol, epoch)
        high, low = path.day_range(epoch)
        close = self.spot(symbol, epoch)
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
        bars = self._histories.get(symbol)
        if bars is None:
            bars = self._histories[symbol] = daily_history(self.seed, self.profiles[symbol], self.session_date)
        return bars

    def sessions_back(self, day: date) -> int | None:
        """0 for the previous session, 1 for the one before, ...; None when not a known past session."""
        try:
            return self._previous_sessions.index(day)
        except ValueError:
            return None

    def past_bar(self, symbol: str, back: int) -> DayBar:
        bars = self.history(symbol)
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
            reference = self.open_epoch + LISTING_REFERENCE_DELAY
            listing = self._listings[symbol] = build_listing(self.seed, profile, self.session_date, reference)
        return listing

    def price_contracts(self, symbol: str, rows: np.ndarray, epoch: float) -> PricedRows:
        listing = self.listing(symbol)
        assert listing is not None
        return price_rows(
            self.profiles[symbol], listing, rows, self.spot(symbol, epoch), epoch, self.open_epoch, self.close_epoch
        )
