"""MarketSimServer: the simulated Polygon on one port, in a background thread with its own loop.

REST answers come from the WebSocket server's `process_request` hook (plain GETs never upgrade);
`/stocks` upgrades to the vendor's stream protocol. `/_sim/...` is the control surface (GET only,
because the one-port design uses the WebSocket library's HTTP parser, which speaks only GET).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import date, datetime, time, timedelta
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from marketsim.control import SimControl
from marketsim.faults import Faults
from marketsim.market import Market
from marketsim.market_feed import MarketFeed
from marketsim.rest import Answer, VendorApi, error
from marketsim.session import (
    NEW_YORK,
    SimClock,
    is_session,
    latest_session,
    market_phase,
    next_session,
    session_bounds,
)
from marketsim.stocks_socket import StocksHub
from marketsim.universe import UNIVERSE_SIZE, TickerProfile, scenario_profile

EventSource = Callable[[StocksHub], Awaitable[None]]
START_AFTER_OPEN = timedelta(minutes=5)
ROLL_CHECK_SECONDS = 0.1  # wall time between checks of a rolling run's close
SERVER_ERRORS = (502, 503, 504, 500)
RATE_LIMIT_MESSAGE = (
    "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue."
)


def _html_error(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase
    return f"<html><head><title>{status} {phrase}</title></head><body><h1>{status} {phrase}</h1></body></html>".encode()


class MarketSimServer:
    def __init__(
        self,
        seed: int = 7,
        speed: float = 60.0,
        session_date: date | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Mapping[str, Any] | None = None,
        start_at: datetime | None = None,
        event_source: EventSource | None = None,
        first_session: date | None = None,
        last_session: date | None = None,
        names: int = UNIVERSE_SIZE,
    ) -> None:
        """`names` is how many symbols the market lists (default 600; a larger market keeps those and
        adds more, see universe.py). `first_session` is the run's first day (default `session_date`): a run started directly on a
        later session with the same first session and seed is the market that advancing reaches.
        `last_session` makes the clock roll over: at each close it jumps to the next session's open
        (5 minutes after), until that session's close, so `speed` plays several days compressed."""
        day = session_date or latest_session(datetime.now(NEW_YORK).date())
        if not is_session(day):
            raise ValueError(f"{day} is not an NYSE session")
        if last_session is not None and (last_session < day or not is_session(last_session)):
            raise ValueError(f"the last session {last_session} must be an NYSE session on or after {day}")
        self.session_date = day
        self.last_session = last_session
        self.seed = seed
        self.host = host
        self.port = port
        self.market = Market(seed, day, first_session, names)
        self.clock = SimClock(start_at or session_bounds(day)[0] + START_AFTER_OPEN, speed)
        self.faults = Faults()
        self.faults.update(**dict(faults or {}))
        self.counters: Counter = Counter()
        self.api = VendorApi(self.market, self.clock.epoch)
        self.hub = StocksHub(self.faults, self.counters)
        self.feed = MarketFeed(self.market, self.clock)
        self.control = SimControl(self)
        self._event_source: EventSource = event_source or self.feed.run
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._server_error_turn = 0

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> MarketSimServer:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="marketsim", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the simulated market did not start within 30 s")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server: Server = await serve(
                self.hub.serve,
                self.host,
                self.port,
                process_request=self._process_request,
                compression=None,
            )
        except OSError as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        feed = asyncio.create_task(self._run_feed())
        self._ready.set()
        await self._stopping.wait()
        feed.cancel()
        server.close()
        await server.wait_closed()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(15)

    def __enter__(self) -> MarketSimServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def _public_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    @property
    def rest_url(self) -> str:
        return f"http://{self._public_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._public_host}:{self.port}/stocks"

    # --- scenario control (thread-safe) ---------------------------------------------------------

    def _on_loop(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run on the server loop from another thread (inside the loop, await the *_async variant)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return asyncio.run(make())
        return asyncio.run_coroutine_threadsafe(make(), loop).result(30)

    def now(self) -> datetime:
        return self.clock.now()

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        return self._on_loop(lambda: self.set_faults_async(**switches))

    async def set_faults_async(self, **switches: Any) -> dict[str, Any]:
        self.faults.update(**switches)
        self.hub.apply_disconnect_faults()
        return self.faults.as_dict()

    def inject_move(self, ticker: str, pct: float) -> dict[str, Any]:
        return self._on_loop(lambda: self.inject_move_async(ticker, pct))

    async def inject_move_async(self, ticker: str, pct: float) -> dict[str, Any]:
        if self.market.profile(ticker) is None:
            raise ValueError(f"unknown ticker {ticker!r}")
        now = self.clock.epoch()
        before, after = self.market.inject_move(ticker, float(pct), now)
        self.counters["moves_injected"] += 1
        await self.hub.publish(self.feed.move_events(ticker, now))
        return {"ticker": ticker, "pct": float(pct), "price_before": before, "price_after": after}

    def add_ticker(
        self,
        symbol: str,
        price: float = 50.0,
        volume: int = 5_000_000,
        has_options: bool = True,
        ff_bump: float | None = None,
        volatility: float = 0.35,
        otc: bool = False,
        term_slope: float = 0.05,
    ) -> dict[str, Any]:
        """A scenario ticker listed from today on (see universe.scenario_profile for `ff_bump` and
        `term_slope`: a rich front month with or without an earnings event)."""
        profile = scenario_profile(symbol, price, volume, has_options, ff_bump, volatility, otc, term_slope)
        return self._on_loop(lambda: self.add_profile_async(profile))

    async def add_profile_async(self, profile: TickerProfile) -> dict[str, Any]:
        self.market.add(profile)
        return {"symbol": profile.symbol, "price": profile.price, "has_options": profile.has_options}

    def stats(self) -> dict[str, Any]:
        return self._on_loop(self.stats_async)

    async def stats_async(self) -> dict[str, Any]:
        return {
            **dict(self.counters),
            "ws_open": len(self.hub.subscribers),
            "now": self.clock.now().isoformat(),
            "faults": self.faults.as_dict(),
        }

    def clock_info(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "now": now.isoformat(),
            "session_date": self.session_date.isoformat(),
            "first_session": self.market.first_session.isoformat(),
            "last_session": self.last_session.isoformat() if self.last_session else None,
            "speed": self.clock.speed,
            "market": market_phase(now),
        }

    # --- days ---------------------------------------------------------------------------------

    def advance_to(self, day: date, at: time | None = None) -> dict[str, Any]:
        """Move the run to a later session; the clock jumps to `at` on it (5 minutes after the open)."""
        return self._on_loop(lambda: self.advance_async(day, at))

    def next_session(self, at: time | None = None) -> dict[str, Any]:
        return self.advance_to(next_session(self.session_date), at)

    async def advance_async(self, day: date | None = None, at: time | None = None) -> dict[str, Any]:
        day = day or next_session(self.session_date)
        if not is_session(day):
            raise ValueError(f"{day} is not an NYSE session")
        start = session_bounds(day)[0] + START_AFTER_OPEN if at is None else datetime.combine(day, at, NEW_YORK)
        self._move_to(day, start)
        return self.clock_info()

    def _move_to(self, day: date, clock_at: datetime) -> None:
        market = self.market.advanced(day)  # raises unless day is later: nothing changes then
        self.market = self.api.market = self.feed.market = market
        self.session_date = day
        self.counters["sessions_advanced"] += 1
        self.clock.set(clock_at)

    async def roll_if_due(self) -> None:
        """With a last session: past today's close, the next session begins at its open (the night is
        skipped); a clock set into a later session walks the run there and stays where it was set."""
        last = self.last_session
        while last is not None and self.session_date < last and self.clock.epoch() >= self.market.close_epoch:
            day = next_session(self.session_date)
            opened, now = session_bounds(day)[0], self.clock.now()
            self._move_to(day, now if now >= opened else opened + START_AFTER_OPEN)

    async def _run_feed(self) -> None:
        """The event source, and the roll-over check ticking beside it (a frozen clock never rolls)."""
        source = asyncio.create_task(self._event_source(self.hub))
        try:
            while True:
                await self.roll_if_due()
                await asyncio.sleep(ROLL_CHECK_SECONDS)
        finally:
            source.cancel()

    # --- HTTP -----------------------------------------------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        split = urlsplit(request.path)
        if split.path == "/stocks":
            return None
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        await self.roll_if_due()
        if split.path.startswith("/_sim/"):
            self.counters["control_requests"] += 1
            answer = await self.control.answer(split.path, query)
            return _json_response(answer.status, orjson.dumps(answer.body))
        base_url = f"http://{request.headers.get('Host') or f'{self._public_host}:{self.port}'}"
        return await self._vendor(split.path, query, request.headers, base_url)

    async def _vendor(self, path: str, query: dict[str, str], headers: Headers, base_url: str) -> Response:
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        route = VendorApi.route(path)
        self.counters[f"rest:{route[0] if route else 'unknown'}"] += 1
        self.counters["rest_requests"] += 1
        if route is None:
            return self._answer(error(404, path, query, "Route not found", kind="NOT_FOUND"))
        authorization = headers.get("Authorization", "")
        key = authorization[7:].strip() if authorization.startswith("Bearer ") else query.get("apiKey", "")
        if not key:
            return self._answer(error(401, path, query, "API Key was not provided"))
        if faults.auth_failure:
            return self._answer(error(401, path, query, "Unknown API Key"))
        if faults.not_authorized or (faults.earnings_not_authorized and route[0] == "benzinga_earnings"):
            message = "You are not entitled to this data. Please upgrade your plan."
            return self._answer(error(403, path, query, message, kind="NOT_AUTHORIZED"))
        if faults.take("rate_limit"):
            self.counters["fault:rate_limit"] += 1
            answer = error(429, path, query, RATE_LIMIT_MESSAGE)
            return self._answer(answer, (("Retry-After", str(faults.retry_after)),))
        if faults.take("server_errors"):
            self.counters["fault:server_errors"] += 1
            status = SERVER_ERRORS[self._server_error_turn % len(SERVER_ERRORS)]
            self._server_error_turn += 1
            if status in (502, 504):
                return _response(status, _html_error(status), "text/html")
            return self._answer(error(status, path, query, HTTPStatus(status).phrase))
        name, args = route
        answer = self.api.answer(name, args, path, query, base_url, faults.repeat_cursor)
        body = orjson.dumps(answer.body)
        if answer.status == 200 and faults.take("truncated_json"):
            self.counters["fault:truncated_json"] += 1
            body = body[: len(body) // 2]
        self.counters[f"status:{answer.status}"] += 1
        return _json_response(answer.status, body, answer.headers)

    def _answer(self, answer: Answer, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        self.counters[f"status:{answer.status}"] += 1
        return _json_response(answer.status, orjson.dumps(answer.body), headers)


def _json_response(status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return _response(status, body, "application/json", headers)


def _response(status: int, body: bytes, content_type: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    all_headers = Headers(
        [
            ("Date", formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *headers,
        ]
    )
    return Response(status, HTTPStatus(status).phrase, all_headers, body)
