"""universe.*: a discovery sweep of 2,000 names through real Celery workers, and the requests a name
costs over ten dates of a year.

**The timed sweep.** A simulated market of 5,000 names (the default 600 and more with the same
spread); its optionable names confirmed from the vendor's listing, the universe is the 2,000 most
liquid. Two worker processes (threads pool) on Redis and PostgreSQL scan every member against the
simulated market answering each request after 100 ms, through the fleet-wide rate limit
(``BENCH_UNIVERSE_RPS``, 25 requests/s by default). The clock runs from sending ``discovery_sweep`` to the last scan
finished. Two sweeps: the day's first (cold caches: every listing probed) and one "half an hour
later" (every member due again). ``universe.sweep_2000_vs_floor`` is the first sweep's seconds over
the floor the rate limit alone puts under it (its requests, the sweep's price requests included, /
the rate). Why 25 and not the vendor's 100: on the 2-core machine the two workers, the simulated
vendor, PostgreSQL and Redis share two cores, and a scan costs the worker about 27 ms of CPU, so at
100 requests/s and 1.4 requests a name the sweep is bound by the machine's CPU, not by the rate limit
(2026-12-01: 44.5 s against a 28.3 s floor, the workers' CPU 53 s); the goal asks whether the sweep
keeps the vendor's limit saturated, which a machine that can keep up shows. ``BENCH_UNIVERSE_RPS=100``
measures the other case.

**Requests per name over a year.** On ten sessions spread over 2025, every tenth of the 2,000 most
liquid optionable names of the same market is scanned (the fetch of a scan, counted by the
simulated server): the day's first scan and one after it, as the code did before (a listing probed
every day) and as it does now (the previous session's listing stands beside the sweep's prices
when no expiry passed since and the month did not turn). Reported: the median and the worst of the
ten dates' means, the old way's as the baseline.

Services: PostgreSQL from DATABASE_URL (a database of its own, ``ff_bench_universe``, is created on
that server and dropped afterwards) and Redis from REDIS_URL; without them, the local defaults
(postgres@127.0.0.1:5432, redis 127.0.0.1:6379). Redis database 15 of that server is emptied
and used, so caches from an earlier run do not flatter the result.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
UNIVERSE = 2000
MARKET_NAMES = 5000
SEED = 20250609
LATENCY_MS = 100
MAX_RPS = os.environ.get("BENCH_UNIVERSE_RPS", "25")
WORKERS = 2
THREADS_PER_WORKER = 10
GOAL_VS_FLOOR = 1.10
BENCH_DB = "ff_bench_universe"
BENCH_REDIS_DB = 15
DEADLINE_S = 300.0
YEAR = ("2025-01-06", "2025-12-31")
DATES = 10
SAMPLE_EVERY = 10  # names of the 2,000 scanned per date (every tenth: 200)


def run() -> list[dict]:
    database_url, redis_url = _service_urls()
    with _bench_database(database_url) as bench_url:
        _point_django_at(bench_url, redis_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        server = _start_market()
        try:
            _build_universe(server)
            server.set_faults(latency_ms=LATENCY_MS)
            with _workers(bench_url, redis_url, server.rest_url) as workers:
                cpu_before = workers.cpu_seconds()
                cold = _sweep()
                cpu_s = workers.cpu_seconds() - cpu_before
                print(f"   first sweep: worker CPU {cpu_s:.1f} s", flush=True)
                # Half an hour later: every member is due again; listed expiries are cached.
                _forget_scans()
                warm = _sweep()
        finally:
            server.stop()
            _release_django()
    floor, warm_floor = cold.requests / float(MAX_RPS), warm.requests / float(MAX_RPS)
    print(f"   sweeps: cold {cold}, warm {warm}", flush=True)
    year = _requests_over_a_year()
    return [
        _metric("universe.sweep_2000_vs_floor", round(cold.seconds / floor, 3), "x", 1.0, f"<= {GOAL_VS_FLOOR:g}"),
        _metric("universe.sweep_2000_s", round(cold.seconds, 2), "s", round(floor, 2)),
        _metric("universe.sweep_2000_warm_vs_floor", round(warm.seconds / warm_floor, 3), "x", 1.0),
        _metric("universe.sweep_2000_warm_s", round(warm.seconds, 2), "s", round(warm_floor, 2)),
        _metric("universe.sweep_2000_requests_per_ticker", round(cold.requests / cold.scans, 3), "requests"),
        _metric("universe.sweep_2000_requests_per_ticker_warm", round(warm.requests / warm.scans, 3), "requests"),
        _metric("universe.sweep_2000_rate_limit", float(MAX_RPS), "requests/s"),
        _metric("universe.sweep_worker_cpu_ms_per_scan", round(1000 * cpu_s / cold.scans, 1), "ms"),
        *year,
    ]


def _metric(name: str, value: float, unit: str, baseline: float | None = None, goal: str | None = None) -> dict:
    ratio = round(value / baseline, 3) if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio, "goal": goal}


def _service_urls() -> tuple[str, str]:
    """PostgreSQL and Redis servers to use; Redis database BENCH_REDIS_DB of that server, emptied first."""
    import redis

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        database_url = "postgres://postgres@127.0.0.1:5432/postgres"
    server = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
    redis_url = urlunsplit((server.scheme, server.netloc, f"/{BENCH_REDIS_DB}", "", ""))
    # Caches (listed expiries, options checks) would make a second run faster than the first.
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    client.flushdb()
    client.close()
    return database_url, redis_url


class _bench_database:
    """A fresh PostgreSQL database on the DATABASE_URL server, dropped on exit."""

    def __init__(self, database_url: str) -> None:
        self.server = dj_database_url.parse(database_url)

    def _admin(self):
        connection = psycopg2.connect(
            dbname="postgres",
            user=self.server["USER"],
            password=self.server["PASSWORD"] or None,
            host=self.server["HOST"] or None,
            port=self.server["PORT"] or None,
            connect_timeout=5,
        )
        connection.autocommit = True
        return connection

    def __enter__(self) -> str:
        admin = self._admin()
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
        admin.close()
        user = self.server["USER"] + (f":{self.server['PASSWORD']}" if self.server["PASSWORD"] else "")
        return f"postgres://{user}@{self.server['HOST'] or '127.0.0.1'}:{self.server['PORT'] or 5432}/{BENCH_DB}"

    def __exit__(self, *exc) -> None:
        admin = self._admin()
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
        admin.close()


def _point_django_at(database_url: str, redis_url: str) -> None:
    """Switch this (already set up) process to the bench database, Redis broker and simulated market."""
    from django.conf import settings
    from django.db import connections

    from forwardfactor.celery import app
    from forwardfactor.shared_state import reset_shared_redis

    connections["default"].close()
    connections["default"].settings_dict.update(dj_database_url.parse(database_url, conn_max_age=0))
    settings.REDIS_URL = redis_url
    settings.POLYGON_API_KEY = ""
    settings.MARKET_SIMULATED = True
    settings.POLYGON_MAX_RPS = MAX_RPS
    reset_shared_redis()
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)


def _release_django() -> None:
    from django.db import connections

    from forwardfactor.runtime import reset_market_provider
    from market.clock import set_clock_source

    reset_market_provider()
    set_clock_source(None)
    connections["default"].close()


def _start_market():
    from django.conf import settings

    from forwardfactor.runtime import reset_market_provider
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=SEED, speed=1.0, names=MARKET_NAMES)
    server.start()
    settings.POLYGON_REST_URL = server.rest_url
    reset_market_provider()
    return server


def _build_universe(server) -> None:
    """The 2,000 most liquid optionable names, confirmed from the vendor's listing of optionable underlyings."""
    from discovery.universe import refresh_universe
    from scanner.underlyings import refresh_from_vendor

    refresh_from_vendor()
    outcome = refresh_universe(size=UNIVERSE)
    if len(outcome.members) != UNIVERSE:
        raise RuntimeError(f"the universe has {len(outcome.members)} members, not {UNIVERSE}: {outcome.message}")


class _workers:
    """Celery worker subprocesses consuming both queues, stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, database_url: str, redis_url: str, rest_url: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "POLYGON_API_KEY": "",
            "POLYGON_REST_URL": rest_url,
            "POLYGON_MAX_RPS": MAX_RPS,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen] = []
        self.logs = tempfile.TemporaryDirectory(prefix="bench_universe_")

    def __enter__(self) -> _workers:
        from forwardfactor.celery import app

        for n in range(WORKERS):
            log = open(Path(self.logs.name) / f"worker{n}.log", "w")
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "forwardfactor",
                        "worker",
                        "-Q",
                        "scan,notify",
                        "--pool",
                        "threads",
                        "-c",
                        str(THREADS_PER_WORKER),
                        "-n",
                        f"bench-universe-{n}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "-l",
                        "WARNING",
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1.0)
            if sum(1 for reply in replies for name in reply if name.startswith("bench-universe-")) >= WORKERS:
                return self
            if any(p.poll() is not None for p in self.processes):
                break
        self.__exit__(None, None, None)
        tails = "".join(f"\n--- {log.name}\n" + log.read_text()[-2000:] for log in Path(self.logs.name).glob("*.log"))
        raise RuntimeError(f"the bench workers did not come up{tails}")

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class SweepResult:
    seconds: float
    requests: int
    scans: int


def _forget_scans() -> None:
    from scanner.models import Scan, Ticker

    Scan.objects.all().delete()
    Ticker.objects.update(last_scan_at=None)


def _sweep() -> SweepResult:
    """Send one sweep; wait until every member's discovery scan has finished."""
    from django.db.models import Sum

    from discovery.tasks import discovery_sweep
    from scanner.models import Scan

    started = time.perf_counter()
    summary = discovery_sweep.apply_async().get(timeout=120)
    if summary.get("enqueued") != UNIVERSE:
        raise RuntimeError(f"the sweep enqueued {summary}, expected {UNIVERSE} scans")
    finished = Scan.objects.filter(reason=Scan.Reason.DISCOVERY).exclude(outcome=Scan.Outcome.RUNNING)
    deadline = time.monotonic() + DEADLINE_S
    while finished.values("ticker").distinct().count() < UNIVERSE:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {finished.count()} of {UNIVERSE} scans finished in {DEADLINE_S:g} s")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    # no_pair completed too: the name lists options, but no expiries fit a pair
    completed = [Scan.Outcome.OK, Scan.Outcome.NO_PAIR]
    failed = list(finished.exclude(outcome__in=completed).values_list("outcome", flat=True))
    if failed:
        print(f"   {len(failed)} scans did not complete (most often: {statistics.mode(failed)})", flush=True)
    requests = (finished.aggregate(total=Sum("requests"))["total"] or 0) + summary.get("price_requests", 0)
    return SweepResult(elapsed, requests, finished.count())


# --- requests per name over a year ----------------------------------------------------------------


def _requests_over_a_year() -> list[dict]:
    """Per date, the mean requests of a day's first scan and of a later one, the old way and now."""
    from marketsim.session import nyse

    sessions = [stamp.date() for stamp in nyse().sessions_in_range(*YEAR)]
    dates = sessions[1 :: len(sessions) // DATES][:DATES]  # the session before each is in the year too
    by_date = {day: _requests_on(day, sessions[sessions.index(day) - 1]) for day in dates}
    for day, figures in by_date.items():
        print(f"   {day}: " + ", ".join(f"{key} {value:.3f}" for key, value in figures.items()), flush=True)
    metrics = []
    for kind in ("cold", "warm"):
        old = [figures[f"old_{kind}"] for figures in by_date.values()]
        new = [figures[f"new_{kind}"] for figures in by_date.values()]
        name = f"universe.requests_per_ticker_{kind}"
        metrics.append(
            _metric(f"{name}_median", round(statistics.median(new), 3), "requests", round(statistics.median(old), 3))
        )
        metrics.append(_metric(f"{name}_worst", round(max(new), 3), "requests", round(max(old), 3)))
        if kind == "cold":  # a later scan of the day had its listing before as well: the same plan
            fewer = sum(n < o for n, o in zip(new, old))
            metrics.append(_metric(f"{name}_dates_fewer", fewer, "dates", None, f"= {DATES}"))
    return metrics


def _requests_on(day, previous) -> dict[str, float]:
    """Every tenth of the day's 2,000 most liquid optionable names, each scanned: the old way (a
    probe every day) and now (yesterday's listing beside the sweep's prices)."""
    import math

    import fakeredis

    from marketsim.server import MarketSimServer
    from scanner.chain_source import ChainFetcher, _fresh_key
    from scanner.engine.config import EngineConfig
    from scanner.polygon.client import PRICES_BATCH, PolygonClient

    config = EngineConfig()
    carried, fresh = (fakeredis.FakeRedis(server=fakeredis.FakeServer()) for _ in range(2))
    with MarketSimServer(seed=SEED, speed=0.0, session_date=previous, names=MARKET_NAMES) as sim:
        names = _most_liquid(sim.market)[:UNIVERSE:SAMPLE_EVERY]
        client = PolygonClient(sim.rest_url, "bench")
        for name in names:  # yesterday's scans leave their listings
            ChainFetcher(client, carried).fetch(
                name, config, sim.now(), reference_price=sim.market.profiles[name].price
            )
        sim.advance_to(day)
        counts = {"old_cold": 0, "old_warm": 0, "new_cold": 0, "new_warm": 0}
        prices = client.counting()
        for name, price in prices.last_prices(names).items():
            carried.set(_fresh_key(name), repr(price))
        for name in names:
            old, new = ChainFetcher(client, fresh), ChainFetcher(client, carried)
            close = sim.market.profiles[name].price  # the universe bar's: what a sweep's scan starts from
            counts["old_cold"] += old.fetch(name, config, sim.now(), reference_price=close).requests
            counts["old_warm"] += old.fetch(name, config, sim.now()).requests
            counts["new_cold"] += new.fetch(name, config, sim.now(), reference_price=close).requests
            counts["new_warm"] += new.fetch(name, config, sim.now()).requests
    # The sweep's price requests, shared by a sweep of 2,000: one per PRICES_BATCH names.
    counts["new_cold"] += math.ceil(UNIVERSE / PRICES_BATCH) * len(names) / UNIVERSE
    return {key: value / len(names) for key, value in counts.items()}


def _most_liquid(market) -> list[str]:
    """The optionable names by their last bar's dollar volume, as the universe ranks them."""
    ranked = []
    for symbol in market.symbols():
        profile = market.profiles[symbol]
        if profile.has_options and not profile.otc and profile.price >= 5.0:
            bar = market.past_bar(symbol, 0)
            ranked.append((-bar.volume * bar.vwap, symbol))
    return [symbol for _, symbol in sorted(ranked)]
