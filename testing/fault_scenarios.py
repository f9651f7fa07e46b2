"""Fault scenarios on real processes: a burst of scans, one fault in the middle of it, and what survived.

A scenario runs in a process of its own (``run_scenario`` starts ``python -m testing.fault_scenarios``)
because Django and Celery there are configured, from the environment, for servers that exist only for
that scenario: a throwaway Redis (AOF everysec) and PostgreSQL (testing/services.py), a Celery worker
subprocess (-c 2, prefork) and beat, the simulated market and an SMTP sink in the runner itself.

The story: N users follow K tickers with thresholds that alert; K ``scan_ticker(t, "manual")`` tasks
are enqueued at once (manual: not gated to sessions); once ``fault_after`` of them completed the fault
is injected for ``outage_s`` seconds; then the runner waits up to ``settle_s`` for every scan to end
and every alert to be sent, and reports:

* each requested scan's end: ok / no_data (completed), failed, missing (no row), and rows left running;
* messages by status, emails the sink accepted, Message-IDs it saw more than once, sent messages it never saw;
* ``recovery_s``: from the fault's end until the worker completed a scan it started after the end
  (a probe scan is enqueued at the end in case the burst was already drained);
* for a killed worker, ``redelivery_s``: from the kill until the tickers it was scanning had a completed scan.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from testing.polling import wait_for
from testing.services import (
    ROOT,
    BeatProcess,
    ThrowawayPostgres,
    ThrowawayRedis,
    WorkerProcess,
    scratch_directory,
)

FAULTS = ("none", "redis_kill", "redis_down", "postgres_stop", "worker_kill", "smtp_down", "vendor_5xx")
# A Tuesday: the simulated session the scans read (the market's clock is its session clock).
SESSION = date(2025, 3, 4)
PROBE = "PROBE"


@dataclass
class Scenario:
    fault: str
    outage_s: float = 5.0
    users: int = 10
    scans: int = 20
    fault_after: float = 0.25  # the share of the burst completed when the fault comes
    settle_s: float = 60.0  # after the fault's end: the deadline for every scan and alert to finish
    latency_ms: int = 100  # added to each vendor answer, so the burst is still in flight at the fault
    env: dict[str, str] = field(default_factory=dict)  # settings for the worker and beat (short timeouts)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; use one of {', '.join(FAULTS)}")


@dataclass
class ScenarioResult:
    """Scans are counted per requested ticker (each burst ticker is requested once and nothing else scans
    it): completed when any of its scans ended ok/no_data, whichever task ran it (the request itself, its
    redelivery, or a re-scan the product enqueued for it)."""

    fault: str
    requested: int
    completed: int  # tickers with a scan that ended ok or no_data
    running: int  # scan rows still running at the deadline (stuck)
    failed: int  # tickers scanned but never completed
    missing: int  # tickers never scanned at all: the request was lost
    alerts: dict[str, int]  # messages (the unit of delivery) by status
    emails: int  # messages the sink accepted
    duplicate_emails: int  # accepted messages whose Message-ID the sink had already seen
    sent_not_received: int  # messages marked sent whose Message-ID the sink never saw
    recovery_s: float | None  # None: no scan completed after the fault's end before the deadline
    redelivery_s: float | None = None  # worker_kill only
    settled: bool = False  # every scan ended ok/no_data and every alert was sent before the deadline
    elapsed_s: float = 0.0
    worker_log: str = ""  # the tail, when something did not settle

    @property
    def completed_pct(self) -> float:
        return 100.0 * self.completed / self.requested if self.requested else 100.0

    @property
    def unsent_alerts(self) -> int:
        return sum(n for status, n in self.alerts.items() if status != "sent")

    def problems(self, recovery_within_s: float, redelivery_within_s: float | None = None) -> list[str]:
        """What this run broke of the promise: every scan ends ok/no_data, every alert is sent exactly
        once, the worker consumes again in time. Empty when it held."""
        found = []
        if self.running:
            found.append(f"{self.running} scans left running")
        if self.completed != self.requested:
            found.append(
                f"{self.requested - self.completed} of {self.requested} scans did not complete "
                f"({self.running} running, {self.failed} failed, {self.missing} missing)"
            )
        if self.unsent_alerts:
            found.append(f"{self.unsent_alerts} messages not sent: {self.alerts}")
        if self.duplicate_emails or self.sent_not_received:
            found.append(f"{self.duplicate_emails} duplicate emails, {self.sent_not_received} sent but not received")
        if self.recovery_s is None or self.recovery_s > recovery_within_s:
            found.append(f"recovery took {self.recovery_s} s (limit {recovery_within_s:g} s)")
        if redelivery_within_s is not None and (self.redelivery_s is None or self.redelivery_s > redelivery_within_s):
            found.append(f"redelivery took {self.redelivery_s} s (limit {redelivery_within_s:g} s)")
        return found

    def summary(self) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.1f} s"
        line = (
            f"{self.fault}: {self.completed}/{self.requested} scans completed ({self.running} running, "
            f"{self.failed} failed, {self.missing} missing); messages {dict(sorted(self.alerts.items()))}, "
            f"{self.emails} emails, {self.duplicate_emails} duplicates, {self.sent_not_received} sent but "
            f"never received; recovery {recovery}"
        )
        if self.redelivery_s is not None or self.fault == "worker_kill":
            line += f"; redelivery {'-' if self.redelivery_s is None else f'{self.redelivery_s:.1f} s'}"
        return line


# --- the parent side: one scenario per process -----------------------------------------------------


def migrated_template(directory: Path) -> Path:
    """A stopped, migrated PostgreSQL cluster whose data directory scenarios copy (migrating costs ~5 s)."""
    postgres = ThrowawayPostgres(directory).init().start()
    try:
        postgres.create_database()
        env = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": ""}
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, capture_output=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed: {done.stderr.decode()[-1000:]}")
    finally:
        postgres.stop()
    return postgres.data


def run_scenario(scenario: Scenario, template: Path | None = None, timeout: float = 600) -> ScenarioResult:
    """Run ``scenario`` in a process of its own and return what it measured."""
    scratch = scratch_directory("ff-scenario-")
    out = scratch / "result.json"
    # The scenario's own servers replace whatever this process is configured with.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    command = [sys.executable, "-m", "testing.fault_scenarios", json.dumps(asdict(scenario)), str(out)]
    if template is not None:
        command.append(str(template))
    runner = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, errors = runner.communicate(timeout=timeout)
        if runner.returncode != 0 or not out.exists():
            raise RuntimeError(f"the {scenario.fault} scenario crashed ({runner.returncode}):\n{errors[-3000:]}")
        return ScenarioResult(**json.loads(out.read_text()))
    finally:
        if runner.poll() is None:
            # SIGTERM first: the runner then stops the servers and processes it started.
            runner.terminate()
            try:
                runner.wait(90)
            except subprocess.TimeoutExpired:
                runner.kill()
        shutil.rmtree(scratch, ignore_errors=True)


# --- the child side ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run one fault scenario (testing/fault_scenarios.py).")
    parser.add_argument("scenario", help="the Scenario as JSON")
    parser.add_argument("out", type=Path, help="where to write the ScenarioResult as JSON")
    parser.add_argument("template", type=Path, nargs="?", help="a migrated cluster's data directory to copy")
    args = parser.parse_args(argv)
    # Stopped from outside (a test's timeout): unwind, so the servers and the worker are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"the {args.scenario} scenario was stopped"))
    scenario = Scenario(**json.loads(args.scenario))
    result = _Run(scenario, args.template).run()
    args.out.write_text(json.dumps(asdict(result)))
    return 0


class _Run:
    """One scenario, from starting the servers to tearing them down."""

    def __init__(self, scenario: Scenario, template: Path | None) -> None:
        self.scenario = scenario
        self.template = template

    def run(self) -> ScenarioResult:
        started = time.monotonic()
        with ExitStack() as stack:
            scratch = scratch_directory("ff-faults-")
            stack.callback(shutil.rmtree, scratch, ignore_errors=True)
            self.scratch = scratch
            self.redis = ThrowawayRedis(scratch / "redis").start()
            stack.callback(self.redis.stop)
            self.postgres = ThrowawayPostgres(scratch / "postgres").init(self.template).start()
            stack.callback(lambda: self.postgres.running() and self.postgres.stop())
            if self.template is None:
                self.postgres.create_database()
            self._configure_django()
            if self.template is None:
                from django.core.management import call_command

                call_command("migrate", verbosity=0, interactive=False)
            from marketsim.server import MarketSimServer
            from testing.smtp_sink import SmtpSink

            self.sim = MarketSimServer(seed=7, speed=1.0, session_date=SESSION).start()
            stack.callback(self.sim.stop)
            self.sink = SmtpSink().start()
            stack.callback(self.sink.stop)
            self.tickers = [f"FT{i:03d}" for i in range(self.scenario.scans)]
            self._seed()
            env = self._process_env()
            self.worker = WorkerProcess(env, scratch / "worker.log").start()
            stack.callback(lambda: self.worker.stop())
            beat = BeatProcess(env, scratch).start()
            stack.callback(beat.stop)
            from forwardfactor.celery import app

            self.app = app
            self.worker.wait_ready(app)
            result = self._play()
            result.elapsed_s = round(time.monotonic() - started, 1)
            if not result.settled:
                result.worker_log = (scratch / "worker.log").read_text(errors="replace")[-4000:]
            return result

    def _configure_django(self) -> None:
        os.environ.update(self._settings_env())
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forwardfactor.settings")
        import django

        django.setup()

    def _settings_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": "",
            "FF_VAR_DIR": str(self.scratch / "var"),
            **self.scenario.env,
        }

    def _process_env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self._settings_env(),
            "POLYGON_API_KEY": "",
            "POLYGON_REST_URL": self.sim.rest_url,
            "POLYGON_MAX_RPS": "1000",
            "EMAIL_BACKEND": "",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.sink.port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_USE_SSL": "0",
            "LOG_LEVEL": "WARNING",
        }

    def _seed(self) -> None:
        from django_celery_beat.models import PeriodicTask

        from accounts.addresses import mark_address_verified
        from accounts.models import AlertSettings, Subscription, User

        for symbol in [*self.tickers, PROBE]:
            # A name whose front month carries an event: its 30-60 FF is about 0.4, above every threshold.
            self.sim.add_ticker(symbol, price=80.0, volume=20_000_000, ff_bump=0.4)
        users = [User.objects.create_user(f"trader{i:03d}@faults.test", None) for i in range(self.scenario.users)]
        for person in users:
            mark_address_verified(person)  # alerts go only to verified addresses
        # One pair, one structure, loose floors, no cap: each alerting scan is one email per follower.
        AlertSettings.objects.filter(user__in=users).update(
            ff_threshold=0.2,
            pairs=["30-60"],
            double_calendar=False,
            min_open_interest=0,
            min_volume=0,
            max_spread_pct=100.0,
            daily_cap=100_000,
            earnings_policy="ignore",  # the names' rich front months are their earnings events
        )
        Subscription.objects.bulk_create([Subscription(user=u, ticker=t) for u in users for t in self.tickers])
        # Beat keeps its alert and sweeping duties; the rescans it would start on its own (heartbeat,
        # discovery) would compete with the burst for the same tickers' single-flight locks.
        PeriodicTask.objects.filter(
            task__in=[
                "scanner.tasks.stream_heartbeat",
                "scanner.tasks.discovery_sweep",
                "scanner.tasks.refresh_universe",
            ]
        ).update(enabled=False)

    # --- the story ------------------------------------------------------------------------------

    def _play(self) -> ScenarioResult:
        from django.utils import timezone

        from scanner.tasks import scan_ticker

        scenario = self.scenario
        self.sim.set_faults(latency_ms=scenario.latency_ms)
        with self.app.producer_or_acquire() as producer:
            for ticker in self.tickers:
                scan_ticker.apply_async(args=[ticker, "manual"], producer=producer)
        threshold = max(1, round(scenario.fault_after * len(self.tickers)))
        wait_for(lambda: self._completed() >= threshold, 120, f"{threshold} scans to complete before the fault")
        fault_at = timezone.now()
        in_flight = self._running_tickers() if scenario.fault == "worker_kill" else []
        self._inject()
        fault_end = timezone.now()
        self._enqueue_probe()
        settled = self._settle(time.monotonic() + scenario.settle_s)
        return self._collect(settled, fault_at, fault_end, in_flight)

    def _inject(self) -> None:
        """The fault, held for ``outage_s`` (a wall-clock outage, not a wait on a condition)."""
        fault, outage = self.scenario.fault, self.scenario.outage_s
        if fault == "none":
            return
        stop, start = {
            "redis_kill": (self.redis.kill, self.redis.start),
            "redis_down": (self.redis.stop, self.redis.start),
            "postgres_stop": (self.postgres.stop, self.postgres.start),
            "worker_kill": (self.worker.kill, self._replace_worker),
            "smtp_down": (self.sink.stop, self.sink.start),
            "vendor_5xx": (
                lambda: self.sim.set_faults(server_errors=1_000_000_000),
                lambda: self.sim.set_faults(server_errors=0),
            ),
        }[fault]
        stop()
        time.sleep(outage)
        start()

    def _replace_worker(self) -> None:
        """What a restart policy does: a new worker process in place of the killed one."""
        self.worker = WorkerProcess(self.worker.env, self.worker.log, name="replacement").start()

    def _enqueue_probe(self) -> None:
        """A scan requested after the fault's end: the worker must complete it even with the burst drained."""
        from scanner.tasks import scan_ticker

        def published() -> bool:
            try:
                scan_ticker.apply_async(args=[PROBE, "manual"])
            except Exception:  # noqa: BLE001 - the broker may still be coming back
                return False
            return True

        wait_for(published, 30, "the broker to accept the probe scan", interval=0.5)

    def _settle(self, deadline: float) -> bool:
        """Wait until every requested scan ended ok/no_data and every alert was sent (or the deadline)."""
        while time.monotonic() < deadline:
            if self._read(self._all_done):
                # An observation window, not a wait on a condition: a late duplicate would land in it.
                time.sleep(1.0)
                return True
            time.sleep(0.25)
        return False

    def _all_done(self) -> bool:
        from alerts.models import Message
        from scanner.models import Scan

        burst = Scan.objects.filter(ticker__in=self.tickers)
        running = burst.filter(outcome=Scan.Outcome.RUNNING).exists()
        probe = Scan.objects.filter(ticker=PROBE, outcome__in=_COMPLETED).exists()
        unsent = Message.objects.exclude(status=Message.Status.SENT).exists()
        return self._completed() == len(self.tickers) and not running and probe and not unsent

    def _completed(self) -> int:
        """Burst tickers with a completed scan: the request, its retry, its redelivery or the sweeper's re-scan."""
        from scanner.models import Scan

        done = Scan.objects.filter(ticker__in=self.tickers, outcome__in=_COMPLETED)
        return self._read(lambda: done.values("ticker").distinct().count()) or 0

    def _running_tickers(self) -> list[str]:
        from scanner.models import Scan

        running = Scan.objects.filter(ticker__in=self.tickers, outcome=Scan.Outcome.RUNNING)
        return sorted(set(running.values_list("ticker", flat=True)))

    def _read(self, query: Callable):
        """A database read that may meet PostgreSQL down: None then, and a fresh connection next time."""
        from django.db import DatabaseError, connections

        try:
            return query()
        except DatabaseError:
            connections.close_all()
            return None

    # --- what survived --------------------------------------------------------------------------

    def _collect(self, settled: bool, fault_at: datetime, fault_end: datetime, in_flight: list[str]) -> ScenarioResult:
        from django.db.models import Count, Min

        from alerts.models import Message
        from scanner.models import Scan

        wait_for(lambda: self._read(Scan.objects.exists), 60, "PostgreSQL to answer for the report")
        burst = Scan.objects.filter(ticker__in=self.tickers)
        rows = list(burst.values_list("ticker", "outcome", "finished_at"))
        completed_at: dict[str, datetime] = {}
        for ticker, outcome, finished_at in rows:
            if outcome in _COMPLETED and (ticker not in completed_at or finished_at < completed_at[ticker]):
                completed_at[ticker] = finished_at
        scanned = {ticker for ticker, _, _ in rows}
        # Delivery is per message (one email per user per ticker per scan), each with a stored Message-ID.
        alerts = dict(Message.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        seen = Counter(str(message.message()["Message-ID"]).strip() for message in self.sink.messages)
        sent_ids = set(Message.objects.filter(status=Message.Status.SENT).values_list("message_id", flat=True))
        first_new = Scan.objects.filter(started_at__gte=fault_end, outcome__in=_COMPLETED).aggregate(
            at=Min("finished_at")
        )["at"]
        redelivery = None
        if in_flight and all(t in completed_at for t in in_flight):
            redelivery = round((max(completed_at[t] for t in in_flight) - fault_at).total_seconds(), 1)
        return ScenarioResult(
            fault=self.scenario.fault,
            requested=len(self.tickers),
            completed=len(completed_at),
            running=sum(1 for _, outcome, _ in rows if outcome == Scan.Outcome.RUNNING),
            failed=len(scanned - set(completed_at)),
            missing=len(set(self.tickers) - scanned),
            alerts=alerts,
            emails=sum(seen.values()),
            duplicate_emails=sum(n - 1 for n in seen.values()),
            sent_not_received=len(sent_ids - set(seen)),
            recovery_s=None if first_new is None else round((first_new - fault_end).total_seconds(), 1),
            redelivery_s=redelivery,
            settled=settled,
        )


_COMPLETED = ("ok", "no_data")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
