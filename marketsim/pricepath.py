"""Underlying prices: an intraday GBM-with-jumps path on a 10-second grid for the simulated session,
and daily bars for the sessions before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from marketsim.randomness import derive_rng
from marketsim.session import AFTER_HOURS_END, at_new_york, session_bounds
from marketsim.universe import TickerProfile

GRID_SECONDS = 10.0
TRADING_SECONDS_PER_YEAR = 252 * 23_400.0
HISTORY_SESSIONS = 400
# Jumps: a floor plus an exponential excess, sized with sqrt(σ / 0.3), part of the profile's
# volatility rather than on top of it. Their expected variance is capped at a quarter of the
# session's (jumps carry roughly 10-25% of a stock's realised variance, less for an index), so a
# calm large cap does not get a 0.5% step in ten seconds several times a day.
JUMP_MIN = 0.004
JUMP_MEAN_EXCESS = 0.004
MAX_JUMP_SHARE = 0.25


def intraday_volume_share(fraction: float) -> float:
    """Cumulative share of the day's volume by `fraction` of the session: a U-shaped profile."""
    x = min(max(fraction, 0.0), 1.0)
    return (x + ((2 * x - 1) ** 3 + 1) / 3) / (5 / 3)


def jump_calibration(profile: TickerProfile) -> tuple[float, float]:
    """(share of the session's variance the jumps carry, factor on the jump sizes), so that the
    path's expected variance over the regular session is the profile's volatility, annualised."""
    session_variance = profile.volatility**2 / 252.0
    size_scale = np.sqrt(profile.volatility / 0.3)
    mean_square = JUMP_MIN**2 + 2 * JUMP_MIN * JUMP_MEAN_EXCESS + 2 * JUMP_MEAN_EXCESS**2
    jump_variance = profile.jumps_per_session * size_scale**2 * mean_square
    if session_variance <= 0.0 or jump_variance <= 0.0:
        return 0.0, float(size_scale)
    share = min(jump_variance / session_variance, MAX_JUMP_SHARE)
    return float(share), float(size_scale * np.sqrt(share * session_variance / jump_variance))


class IntradayPath:
    """Price of one underlying from the open to the end of after-hours trading.

    Linear between grid points; before the open it reads the opening price, after 20:00 the last one.
    `profile.price` is the previous close; `open_jump` (log) is news the open carries (earnings).
    """

    def __init__(self, seed: int, profile: TickerProfile, session_date: date, open_jump: float = 0.0) -> None:
        rng = derive_rng(seed, profile.symbol, session_date.toordinal(), "intraday")
        opened, closed = session_bounds(session_date)
        self.open_epoch = opened.timestamp()
        self.close_epoch = closed.timestamp()
        end_epoch = at_new_york(session_date, *AFTER_HOURS_END).timestamp()
        steps = int((end_epoch - self.open_epoch) / GRID_SECONDS)
        regular_steps = int((self.close_epoch - self.open_epoch) / GRID_SECONDS)
        jump_share, jump_scale = jump_calibration(profile)
        step_vol = profile.volatility * np.sqrt((1.0 - jump_share) * GRID_SECONDS / TRADING_SECONDS_PER_YEAR)
        scale = np.where(np.arange(steps) < regular_steps, step_vol, 0.3 * step_vol)
        increments = rng.standard_normal(steps) * scale - 0.5 * scale * scale
        jump_count = int(rng.poisson(profile.jumps_per_session))
        if jump_count:
            where = rng.integers(0, max(regular_steps, 1), jump_count)
            size = (JUMP_MIN + rng.exponential(JUMP_MEAN_EXCESS, jump_count)) * jump_scale
            np.add.at(increments, where, np.where(rng.uniform(size=jump_count) < 0.5, -size, size))
        gap = rng.normal(0.0, 0.3 * profile.volatility / np.sqrt(252.0)) + open_jump
        self.previous_close = profile.price
        log_prices = np.log(profile.price) + gap + np.concatenate(([0.0], np.cumsum(increments)))
        self.prices = np.round(np.exp(log_prices), 4)
        self._price_list: list[float] = self.prices.tolist()  # scalar reads on the stream's hot path
        self._last_position = float(self.prices.size - 1)
        self.running_high = np.maximum.accumulate(self.prices)
        self.running_low = np.minimum.accumulate(self.prices)
        self.running_mean = np.cumsum(self.prices) / np.arange(1, self.prices.size + 1)
        self.day_volume = profile.avg_volume * float(rng.lognormal(0.0, 0.3))

    def _position(self, epoch: float) -> float:
        position = (epoch - self.open_epoch) / GRID_SECONDS
        if position <= 0.0:
            return 0.0
        return self._last_position if position > self._last_position else position

    def price_at(self, epoch: float) -> float:
        prices = self._price_list
        position = self._position(epoch)
        index = int(position)
        if index >= len(prices) - 1:
            return prices[-1]
        weight = position - index
        return prices[index] * (1 - weight) + prices[index + 1] * weight

    @property
    def open_price(self) -> float:
        return float(self.prices[0])

    @property
    def last_price(self) -> float:
        """The price at the end of after-hours trading: the next session's previous close."""
        return self._price_list[-1]

    def day_range(self, epoch: float) -> tuple[float, float]:
        index = int(self._position(epoch))
        current = self.price_at(epoch)
        return max(float(self.running_high[index]), current), min(float(self.running_low[index]), current)

    def day_vwap(self, epoch: float) -> float:
        return float(self.running_mean[int(self._position(epoch))])

    def window_range(self, start: float, end: float) -> tuple[float, float]:
        first, last = int(self._position(start)) + 1, int(self._position(end))
        edges = (self.price_at(start), self.price_at(end))
        if last < first:
            return max(edges), min(edges)
        inner = self.prices[first : last + 1]
        return max(float(inner.max()), *edges), min(float(inner.min()), *edges)

    def volume_until(self, epoch: float) -> int:
        if epoch <= self.open_epoch:
            return 0
        session = self.close_epoch - self.open_epoch
        share = intraday_volume_share((epoch - self.open_epoch) / session)
        if epoch > self.close_epoch:
            share += 0.04 * min((epoch - self.close_epoch) / (4 * 3600), 1.0)
        return int(self.day_volume * share)


@dataclass(frozen=True)
class DailyBars:
    """Bars of the sessions before the simulated one; index 0 is the previous session."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    transactions: np.ndarray


def daily_history(seed: int, profile: TickerProfile, session_date: date, count: int = HISTORY_SESSIONS) -> DailyBars:
    rng = derive_rng(seed, profile.symbol, session_date.toordinal(), "daily")
    daily_vol = profile.volatility / np.sqrt(252.0)
    returns = rng.normal(0.0, daily_vol, count)
    close = profile.price * np.exp(-np.concatenate(([0.0], np.cumsum(returns[:-1]))))
    previous_close = close * np.exp(-returns)
    opened = previous_close * np.exp(rng.normal(0.0, 0.3 * daily_vol, count))
    body_high, body_low = np.maximum(opened, close), np.minimum(opened, close)
    high = body_high * np.exp(np.abs(rng.normal(0.0, 0.5 * daily_vol, count)))
    low = body_low * np.exp(-np.abs(rng.normal(0.0, 0.5 * daily_vol, count)))
    volume = np.round(profile.avg_volume * rng.lognormal(0.0, 0.35, count))
    vwap = (high + low + 2 * close) / 4
    trade_size = 80 + 150 * rng.uniform(size=count)
    digits = 2 if profile.price >= 1 else 4
    return DailyBars(
        open=np.round(opened, digits),
        high=np.round(high, digits),
        low=np.round(low, digits),
        close=np.round(close, digits),
        volume=volume,
        vwap=np.round(vwap, 4),
        transactions=np.maximum(1, np.round(volume / trade_size)).astype(np.int64),
    )
