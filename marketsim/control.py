"""The `/_sim/...` control surface: faults, moves, scenario tickers, clock and stats as JSON over GET,
so a separately started `manage.py marketsim` can be driven by tests and the demo."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Protocol

from marketsim.rest import Answer
from marketsim.session import SimClock
from marketsim.universe import TickerProfile, scenario_profile


class ControlledMarket(Protocol):
    """What the control surface drives: the server implements it (control imports no server, no cycle)."""

    clock: SimClock

    async def set_faults_async(self, **switches: str) -> dict[str, Any]: ...

    async def inject_move_async(self, ticker: str, pct: float) -> dict[str, Any]: ...

    async def add_profile_async(self, profile: TickerProfile) -> dict[str, Any]: ...

    async def advance_async(self, day: date | None = None, at: time | None = None) -> dict[str, Any]: ...

    def clock_info(self) -> dict[str, Any]: ...

    async def stats_async(self) -> dict[str, Any]: ...


TRUE_WORDS = ("1", "true", "yes", "on")


def _flag(raw: str) -> bool:
    return raw.lower() in TRUE_WORDS


class SimControl:
    def __init__(self, server: ControlledMarket) -> None:
        self.server = server

    async def answer(self, path: str, query: dict[str, str]) -> Answer:
        handlers = {
            "/_sim/faults": self.faults,
            "/_sim/move": self.move,
            "/_sim/add_ticker": self.add_ticker,
            "/_sim/clock": self.clock,
            "/_sim/advance": self.advance,
            "/_sim/stats": self.stats,
        }
        handler = handlers.get(path)
        if handler is None:
            return Answer(404, {"error": f"unknown control path {path}", "paths": sorted(handlers)})
        try:
            return Answer(200, await handler(query))
        except (KeyError, ValueError) as exc:
            return Answer(400, {"error": str(exc).strip("'\"")})

    async def faults(self, query: dict[str, str]) -> dict[str, Any]:
        return await self.server.set_faults_async(**query)

    async def move(self, query: dict[str, str]) -> dict[str, Any]:
        return await self.server.inject_move_async(query["ticker"], float(query["pct"]))

    async def add_ticker(self, query: dict[str, str]) -> dict[str, Any]:
        bump = query.get("ff_bump")
        profile = scenario_profile(
            symbol=query["symbol"],
            price=float(query.get("price", 50.0)),
            volume=int(float(query.get("volume", 5_000_000))),
            has_options=_flag(query.get("has_options", "true")),
            ff_bump=float(bump) if bump not in (None, "") else None,
            volatility=float(query.get("volatility", 0.35)),
            otc=_flag(query.get("otc", "false")),
            term_slope=float(query.get("term_slope", 0.05)),
        )
        return await self.server.add_profile_async(profile)

    async def clock(self, query: dict[str, str]) -> dict[str, Any]:
        clock = self.server.clock
        speed = float(query["speed"]) if "speed" in query else None
        if "at" in query:
            at = datetime.fromisoformat(query["at"])
            if at.tzinfo is None:
                raise ValueError("at needs a UTC offset, e.g. 2025-01-06T10:00:00-05:00")
            clock.set(at, speed)
        elif speed is not None:
            clock.set(clock.now(), speed)
        if "advance" in query:
            clock.advance(float(query["advance"]))
        return self.server.clock_info()

    async def advance(self, query: dict[str, str]) -> dict[str, Any]:
        """The next session (or `to=YYYY-MM-DD`), the clock at `at=HH:MM` New York (5 min after the open)."""
        day = date.fromisoformat(query["to"]) if query.get("to") else None
        at = time.fromisoformat(query["at"]) if query.get("at") else None
        return await self.server.advance_async(day, at)

    async def stats(self, query: dict[str, str]) -> dict[str, Any]:
        return await self.server.stats_async()
