"""End-to-end latency: a price move injected into the simulated stream -> email accepted by SMTP.

Real services: Redis (REDIS_URL) as broker and shared state, a real Celery worker started as in
production (``celery worker -Q scan,notify``, prefork, a process of its own), the database of
DATABASE_URL (a throwaway test database is created and dropped), the simulated market over loopback
for the stream and the chains, and a local aiosmtpd server.
200 moves, one at a time, each on its own ticker (alerts are deduplicated per ticker and pair), so
each is one scan and one email. Latency: from ``inject_move`` returning to the SMTP server
accepting the message (stamped by the server; the bench sleeps on the server's notification
rather than polling, so the observer takes no CPU from the worker it measures).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from testing.polling import wait_for
from testing.services import WorkerProcess

MOVES = 200
# Some simulated chains yield no alertable signal; those moves are counted and replaced by the next name.
TICKERS = [f"FX{i:03d}" for i in range(MOVES + 60)]
RECIPIENT = "latency@example.com"


def run() -> list[dict]:
    from django.conf import settings

    if not settings.REDIS_URL:
        print("   skipped: needs REDIS_URL (a real broker and worker)")
        return [_metric("e2e.latency_p50_ms", None, "<= 100"), _metric("e2e.latency_p99_ms", None, "<= 300")]
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_e2e_{old_name.rsplit('/', 1)[-1]}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        latencies = _measure()
    finally:
        _drop_test_database(connection, old_name)
        teardown_test_environment()
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
    print(f"   {len(latencies)} moves: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
    return [
        _metric("e2e.latency_p50_ms", round(p50, 1), "<= 100"),
        _metric("e2e.latency_p99_ms", round(p99, 1), "<= 300"),
    ]


def _silent(symbol: str) -> bool:
    """The move's scan finished without an alert (the simulated chain had no alertable signal)."""
    from alerts.models import Alert
    from scanner.models import Scan

    done = Scan.objects.filter(ticker=symbol, reason=Scan.Reason.MOVE).exclude(outcome=Scan.Outcome.RUNNING).exists()
    return done and not Alert.objects.filter(ticker=symbol).exists()


def _accepted_at(sink, seen: int, symbol: str, timeout: float) -> float | None:
    """When the first message about ``symbol`` after the first ``seen`` was accepted (perf_counter);
    None when its scan finished without an alert."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # The silent check reads the database: only between waits of 50 ms, not in a busy loop.
        for message in sink.messages_after(seen, 0.05):
            seen += 1
            if symbol in str(message.message()["Subject"]):
                return message.accepted_at
        if _silent(symbol):
            return None
    raise RuntimeError(f"timed out waiting for the scan of {symbol}")


def _drop_test_database(connection, old_name: str) -> None:
    from django.db import connections

    connections.close_all()
    if connection.vendor == "postgresql":
        # The worker's and the stream's threads kept connections of their own.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
    connection.creation.destroy_test_db(old_name, verbosity=0)


@contextmanager
def _worker(rest_url: str, smtp_port: int):
    """The production worker command in a subprocess, on this test database, the market and the SMTP sink."""
    from django.conf import settings
    from django.db import connection

    from forwardfactor.celery import app

    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    database_url = (
        f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        if connection.vendor == "postgresql"
        else f"sqlite:///{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "POLYGON_API_KEY": "",
        "POLYGON_REST_URL": rest_url,
        "POLYGON_MAX_RPS": "1000",
        "EMAIL_BACKEND": "",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        "LOG_LEVEL": "WARNING",
    }
    worker = WorkerProcess(env, Path(tempfile.mkdtemp()) / "worker.log", name="bench-e2e").start()
    try:
        worker.wait_ready(app)
        yield worker
    finally:
        worker.stop()


def _metric(name: str, value, goal: str) -> dict:
    return {"name": name, "value": value, "unit": "ms", "baseline": None, "ratio": None, "goal": goal}


def _measure() -> list[float]:
    from django.utils import timezone

    from accounts.addresses import mark_address_verified
    from accounts.models import AlertSettings, Subscription, User
    from forwardfactor.runtime import using_market
    from forwardfactor.shared_state import reset_shared_redis, shared_redis
    from marketsim.server import MarketSimServer
    from scanner.models import Scan
    from scanner.stream.references import REFERENCES_KEY
    from scanner.stream.service import config_from_settings, run_stream
    from testing.smtp_sink import SmtpSink

    sim = MarketSimServer(seed=11, speed=1.0)
    for symbol in TICKERS:
        # Quiet names (no jumps, low volatility): the only 0.5% moves are the injected ones.
        sim.add_ticker(symbol, price=100.0, volume=500_000_000, has_options=True, ff_bump=0.5, volatility=0.05)
    sim.start()
    sink = SmtpSink().start()
    stop = threading.Event()
    consumers = []
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": sink.port,
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
    }
    try:
        with using_market(sim.rest_url, clock=sim.now, POLYGON_MAX_RPS="1000", **smtp):
            reset_shared_redis()
            shared_redis().delete(REFERENCES_KEY)
            user = User.objects.create_user(RECIPIENT, "pw-Secret-42")
            mark_address_verified(user)  # alerts go to verified addresses only
            # Every scan should alert: the bench measures latency, not the liquidity filters (nor the
            # earnings policy: the bench names' rich front months are their earnings events).
            AlertSettings.objects.filter(user=user).update(
                daily_cap=10_000,
                double_calendar=False,
                min_open_interest=0,
                min_volume=0,
                max_spread_pct=100.0,
                max_spread_cost_pct=1000.0,
                earnings_policy="ignore",
            )
            Subscription.objects.bulk_create([Subscription(user=user, ticker=t) for t in TICKERS])
            with _worker(sim.rest_url, sink.port):
                streamer = threading.Thread(
                    target=run_stream,
                    name="bench-stream",
                    daemon=True,
                    kwargs={"config": config_from_settings(), "stop": stop, "on_consumer": consumers.append},
                )
                streamer.start()
                wait_for(
                    lambda: consumers and all(consumers[0].trigger.reference(t) for t in TICKERS),
                    60,
                    "reference prices for every ticker",
                )
                latencies = []
                silent = 0
                injected: dict = {}
                for symbol in TICKERS:
                    if len(latencies) == MOVES:
                        break
                    seen = sink.accepted
                    injected[symbol] = timezone.now()
                    sim.inject_move(symbol, 1.0)
                    started = time.perf_counter()
                    accepted_at = _accepted_at(sink, seen, symbol, 30)
                    if accepted_at is None:
                        silent += 1
                    else:
                        latencies.append((accepted_at - started) * 1000)
                if len(latencies) < MOVES:
                    raise RuntimeError(f"only {len(latencies)} of {len(TICKERS)} moves ended in an email")
                stop.set()
                streamer.join(30)
                triggers = consumers[0].stats.triggers
                # Let the last tasks finish before the worker and the market go away.
                wait_for(lambda: not Scan.objects.filter(outcome=Scan.Outcome.RUNNING).exists(), 30, "running scans")
            scans = list(Scan.objects.filter(reason=Scan.Reason.MOVE).values_list("fetch_ms", "compute_ms", "requests"))
            to_start = [
                (started - injected[t]).total_seconds() * 1000
                for t, started in Scan.objects.filter(reason=Scan.Reason.MOVE, ticker__in=injected).values_list(
                    "ticker", "started_at"
                )
            ]
            print(
                f"   median from the injected move to its scan starting on the worker: {statistics.median(to_start):.0f} ms"
            )
            print(
                f"   scan medians: fetch {statistics.median(s[0] or 0 for s in scans):.0f} ms, "
                f"compute {statistics.median(s[1] or 0 for s in scans):.0f} ms, "
                f"{statistics.median(s[2] for s in scans):.0f} chain requests"
            )
            print(
                f"   {triggers} move triggers for {MOVES + silent} injected moves ({silent} scans found nothing to alert)"
            )
            return latencies
    finally:
        stop.set()
        sink.stop()
        sim.stop()
