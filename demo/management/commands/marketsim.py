"""`manage.py marketsim`: run the simulated Polygon (REST + WebSocket) on one loopback port."""

from __future__ import annotations

import calendar
import re
import signal
import threading
from dataclasses import fields
from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketsim.faults import Faults
from marketsim.server import MarketSimServer
from marketsim.session import NEW_YORK, is_session, latest_session, sessions_from
from marketsim.universe import MAX_NAMES, UNIVERSE_SIZE, WELL_KNOWN


def _session_date(raw: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        shape = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw)
        if shape:
            year, month, _ = map(int, shape.groups())
            raise CommandError(f"--date {raw} does not exist: {_no_such_day(year, month)}") from None
        raise CommandError(f"--date must look like 2025-01-06, not {raw!r}") from None
    try:
        if not is_session(day):
            raise CommandError(f"--date {day} is not an NYSE session (weekend or holiday); try {latest_session(day)}")
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return day


def _no_such_day(year: int, month: int) -> str:
    if year < 1:
        return "the calendar starts in year 0001"
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    return f"{calendar.month_name[month]} {year} has {calendar.monthrange(year, month)[1]} days"


def _start_time(raw: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--start must be a New York time like 09:45, not {raw!r}") from None


def _through(info: dict[str, Any]) -> str:
    return f" through {info['last_session']}" if info["last_session"] else ""


class Command(BaseCommand):
    help = (
        "Run a simulated Polygon market on one port: the vendor's REST endpoints (chain snapshots, grouped "
        "daily, option contracts, stock snapshots, market status, the Benzinga earnings calendar) and the "
        "stocks WebSocket at /stocks. "
        "Deterministic from --seed; its own session clock runs at --speed x wall time, so it streams at any "
        "hour. Any API key is accepted. Point the scanner at it with the printed POLYGON_REST_URL / "
        "POLYGON_WS_URL lines. Faults can be switched on here or later with GET /_sim/faults?name=value."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        parser.add_argument(
            "--port", type=int, default=8765, help="port for REST and WebSocket (default 8765; 0 = any free port)"
        )
        parser.add_argument("--seed", type=int, default=7, help="market seed: same seed, same market (default 7)")
        parser.add_argument(
            "--names",
            type=int,
            default=UNIVERSE_SIZE,
            help=f"symbols listed (default {UNIVERSE_SIZE}; a larger market keeps those and adds more with the same "
            f"spread of prices, volumes and option listings; {len(WELL_KNOWN)} to {MAX_NAMES})",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=60.0,
            help="sim seconds per wall second (default 60; 390 plays a 6.5-hour session in a minute; 0 freezes the clock)",
        )
        parser.add_argument("--date", help="session date YYYY-MM-DD (default: the latest NYSE session up to today)")
        parser.add_argument(
            "--days",
            type=int,
            default=1,
            help="trading days to play: at each close the clock jumps to the next session's open (default 1)",
        )
        parser.add_argument(
            "--start", default=None, help="New York time the clock starts at (default 5 minutes after the open)"
        )
        faults = parser.add_argument_group("faults (all off by default)")
        faults.add_argument("--latency-ms", type=int, default=0, help="delay every REST answer by N ms")
        faults.add_argument(
            "--rate-limit",
            type=float,
            default=0,
            help="429 with Retry-After: N >= 1 for the next N requests, 0<F<1 for that fraction",
        )
        faults.add_argument(
            "--retry-after", type=int, default=1, help="seconds in the 429's Retry-After header (default 1)"
        )
        faults.add_argument(
            "--server-errors",
            type=float,
            default=0,
            help="5xx answers (502/503/504/500 in turn): N next requests or a fraction",
        )
        faults.add_argument(
            "--truncated-json",
            type=float,
            default=0,
            help="200 answers with the JSON cut in half: N next requests or a fraction",
        )
        faults.add_argument("--repeat-cursor", action="store_true", help="next_url repeats its cursor forever")
        faults.add_argument("--not-authorized", action="store_true", help="REST answers 403 NOT_AUTHORIZED")
        faults.add_argument(
            "--earnings-not-authorized",
            action="store_true",
            help="the earnings calendar alone answers 403 NOT_AUTHORIZED (a plan without the Benzinga add-on)",
        )
        faults.add_argument(
            "--auth-failure", action="store_true", help="REST answers 401; WebSocket answers auth_failed"
        )
        faults.add_argument(
            "--ws-abort",
            type=int,
            default=0,
            help="drop the next N WebSocket connections after auth, without a close frame",
        )
        faults.add_argument(
            "--slow-frames", type=int, default=0, metavar="MS", help="delay each WebSocket event frame by MS ms"
        )
        faults.add_argument(
            "--max-connections",
            type=int,
            default=0,
            help="WebSocket connections allowed per key (0 = unlimited; the vendor allows 1)",
        )
        faults.add_argument(
            "--force-disconnect", type=int, default=0, help="send force_disconnect to the next N connections after auth"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["port"] < 0 or options["port"] > 65535:
            raise CommandError("--port must be between 0 and 65535")
        if not len(WELL_KNOWN) <= options["names"] <= MAX_NAMES:
            raise CommandError(f"--names must be between {len(WELL_KNOWN)} and {MAX_NAMES}")
        if options["speed"] < 0:
            raise CommandError("--speed must be >= 0")
        day = _session_date(options["date"]) if options["date"] else None
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        last_session = None
        if options["days"] > 1:
            try:
                last_session = sessions_from(day or latest_session(datetime.now(NEW_YORK).date()), options["days"])[-1]
            except ValueError as exc:
                raise CommandError(f"--days {options['days']}: {exc}") from None
        start_at = None
        if options["start"]:
            start = _start_time(options["start"])
            session = day or latest_session(datetime.now(NEW_YORK).date())
            start_at = datetime.combine(session, start, tzinfo=NEW_YORK)
        faults = {switch.name: options[switch.name] for switch in fields(Faults)}
        try:
            sim = MarketSimServer(
                seed=options["seed"],
                speed=options["speed"],
                session_date=day,
                host=options["host"],
                port=options["port"],
                faults=faults,
                start_at=start_at,
                last_session=last_session,
                names=options["names"],
            )
            sim.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        info = sim.clock_info()
        self.stdout.write(
            f"Simulated Polygon: session {info['session_date']}{_through(info)}, clock {info['now']} at {info['speed']:g}x, seed {sim.seed}, {len(sim.market.base_profiles)} names\n"
            f"REST      {sim.rest_url}\n"
            f"WebSocket {sim.ws_url}\n"
            f"Control   {sim.rest_url}/_sim/stats  (/_sim/faults, /_sim/move, /_sim/add_ticker, /_sim/clock, /_sim/advance)\n"
            "Use it with:\n"
            f"  POLYGON_REST_URL={sim.rest_url}\n"
            f"  POLYGON_WS_URL={sim.ws_url}\n"
            "Ctrl-C stops it."
        )
        self.stdout.flush()
        stop.wait()
        sim.stop()
        self.stdout.write("stopped")
