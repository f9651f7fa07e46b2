"""The default event source: T, Q, A and AM events drawn from the simulated price paths in sim time."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from marketsim.market import DayBar, Market
from marketsim.randomness import hash_unit, stream_key
from marketsim.session import SimClock
from marketsim.stocks_socket import WILDCARD, StocksHub

TICK_SECONDS = 0.1  # wall-clock pacing of the feed loop
MAX_CATCH_UP = 120.0  # sim seconds emitted per tick at most (a clock jump does not flood the socket)
TRADE_CONDITIONS = ([], [14, 41], [12], [37])


def _aggregate(
    ev: str, symbol: str, bar: DayBar, day: tuple[float, int, float], start: float, end: float
) -> dict[str, Any]:
    day_open, day_volume, day_vwap = day
    return {
        "ev": ev,
        "sym": symbol,
        "v": bar.volume,
        "av": day_volume,
        "op": day_open,
        "vw": bar.vwap,
        "o": bar.open,
        "c": bar.close,
        "h": bar.high,
        "l": bar.low,
        "a": day_vwap,
        "z": bar.volume // bar.transactions if bar.transactions else 0,
        "s": int(start * 1000),
        "e": int(end * 1000),
    }


class MarketFeed:
    def __init__(self, market: Market, clock: SimClock) -> None:
        self.market = market
        self.clock = clock
        self.sequence = 0
        self._keys: dict[str, int] = {}

    def _key(self, symbol: str) -> int:
        key = self._keys.get(symbol)
        if key is None:
            key = self._keys[symbol] = stream_key(self.market.seed, symbol, "tape")
        return key

    async def run(self, hub: StocksHub) -> None:
        last = self.clock.epoch()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = self.clock.epoch()
            if now <= last:
                last = now
                continue
            events = self.events_between(max(last, now - MAX_CATCH_UP), now, hub.wanted())
            last = now
            if events:
                await hub.publish(events)

    def _symbols(self, wanted: set[str]) -> list[str]:
        if WILDCARD in wanted:
            return self.market.symbols()
        return [symbol for symbol in wanted if symbol in self.market.profiles]

    def _trading(self, epoch: float) -> bool:
        return self.market.open_epoch <= epoch < self.market.tape_end_epoch

    def events_between(self, start: float, end: float, wanted: dict[str, set[str]]) -> list[dict[str, Any]]:
        """Every wanted event of the whole seconds in [start, end), in time order."""
        trades, quotes = self._symbols(wanted["T"]), self._symbols(wanted["Q"])
        seconds_aggs, minute_aggs = self._symbols(wanted["A"]), self._symbols(wanted["AM"])
        events: list[dict[str, Any]] = []
        for second in range(math.floor(start), math.floor(end)):
            if not self._trading(second):
                continue
            for symbol in trades:
                events.extend(self._trades(symbol, second))
            for symbol in quotes:
                events.append(self.quote(symbol, second + 0.5))
            for symbol in seconds_aggs:
                events.append(self.aggregate("A", symbol, second, second + 1))
            if (second + 1) % 60 == 0:
                for symbol in minute_aggs:
                    events.append(self.aggregate("AM", symbol, second - 59, second + 1))
        return events

    def aggregate(self, ev: str, symbol: str, start: float, end: float) -> dict[str, Any]:
        bar = self.market.window_bar(symbol, start, end)
        return _aggregate(ev, symbol, bar, self.market.day_so_far(symbol, end), start, end)

    def _trades(self, symbol: str, second: int) -> list[dict[str, Any]]:
        profile = self.market.profiles[symbol]
        rate = min(max(profile.avg_volume / 150 / 23_400, 0.02), 4.0)
        key = self._key(symbol)
        draw = hash_unit(key, second)
        count = int(rate) + (1 if draw < rate - int(rate) else 0)
        return [
            self.trade(symbol, second + (k + 0.5) / count, hash_unit(key, second * 8 + k + 1)) for k in range(count)
        ]

    def trade(self, symbol: str, epoch: float, draw: float) -> dict[str, Any]:
        self.sequence += 1
        price = self.market.spot(symbol, epoch) * (1 + 0.0002 * (draw - 0.5))
        size = 100 * (1 + int(draw * 7)) if draw < 0.8 else 1 + int(draw * 97)
        event: dict[str, Any] = {
            "ev": "T",
            "sym": symbol,
            "i": str(self.sequence * 7 + 11),
            "x": 1 + int(draw * 20),
            "p": round(price, 4 if price < 1 else 2),
            "s": size,
            "t": int(epoch * 1000),
            "q": self.sequence,
            "z": 1 + self._key(symbol) % 3,
        }
        conditions = TRADE_CONDITIONS[int(draw * 4) % 4]
        if conditions:
            event["c"] = conditions
        return event

    def quote(self, symbol: str, epoch: float) -> dict[str, Any]:
        self.sequence += 1
        price = self.market.spot(symbol, epoch)
        half = max(0.01, round(price * 0.0002, 2))
        draw = hash_unit(self._key(symbol), int(epoch * 1000))
        return {
            "ev": "Q",
            "sym": symbol,
            "bx": 1 + int(draw * 20),
            "bp": round(price - half, 2),
            "bs": 1 + int(draw * 30),
            "ax": 1 + int((1 - draw) * 20),
            "ap": round(price + half, 2),
            "as": 1 + int((1 - draw) * 30),
            "c": 1,
            "t": int(epoch * 1000),
            "q": self.sequence,
            "z": 1 + self._key(symbol) % 3,
        }

    def move_events(self, symbol: str, epoch: float) -> list[dict[str, Any]]:
        """What a sudden move shows at once on every channel: a trade, a quote and the A of the second
        that ends with the move (it closes at the moved price, never at a later one)."""
        return [
            self.trade(symbol, epoch, 0.5),
            self.quote(symbol, epoch),
            self.aggregate("A", symbol, math.ceil(epoch) - 1.0, epoch),
        ]
