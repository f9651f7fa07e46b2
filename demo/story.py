"""The demo story: a compressed session on the simulated market, end to end.

The simulated market replays a session at high speed; the universe is refreshed from its grouped
daily bars; the stream consumer watches the subscriptions and the universe and enqueues a scan for
every 0.5 % move; scans alert the demo users; emails land as .eml files. On embedded defaults
everything runs in this process (Celery eager). With REDIS_URL set, the same story runs on a real
Celery worker and beat started as subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from alerts.models import Alert, Message
from demo import days as further_days
from demo.users import DemoCast, seed_demo_users
from forwardfactor.runtime import using_market
from marketsim.server import MarketSimServer
from marketsim.session import session_bounds
from scanner.models import Scan, Signal

Say = Callable[[str], None]

DEMO_SEED = 7
# Subscriber's tickers: the most liquid names whose front month carries an event (high FF).
SUBSCRIBER_TICKERS = 3


@dataclass
class DemoSummary:
    moves: int
    scans: int
    signals: int
    alerts: dict[str, int]
    messages: int  # one per user, ticker and scan, each carrying that scan's alerts for the user
    emails: int
    api_calls: int
    mode: str = "embedded"
    recipients: dict[str, int] = field(default_factory=dict)  # messages per demo user
    days: int = 1
    track_record: dict = field(default_factory=dict)  # demo.days.TrackRecord: the run's paper trades

    def story_problems(self, cast: DemoCast) -> list[str]:
        problems = []
        if not self.recipients.get(cast.subscriber.email):
            problems.append(f"{cast.subscriber.email} received no subscription alert")
        if not self.recipients.get(cast.discovery.email):
            problems.append(f"{cast.discovery.email} received no discovery alert")
        if self.recipients.get(cast.nobody.email):
            problems.append(f"{cast.nobody.email} received alerts but should get none")
        if self.days > 1 and not self.track_record.get("closed"):
            problems.append(f"no paper trade closed in {self.days} days")
        return problems


def demo_dir() -> Path:
    return Path(settings.VAR_DIR) / "demo"


def event_tickers(sim: MarketSimServer, count: int) -> list[str]:
    """The `count` highest-volume optionable names whose 30-60 FF comes from a front-month event."""
    market = sim.market
    profiles = [market.profile(symbol) for symbol in market.symbols()]
    bumped = [
        p for p in profiles if p and p.ff_bump and p.ff_bump >= 0.3 and p.has_options and not p.otc and p.price >= 5
    ]
    bumped.sort(key=lambda p: (-p.avg_volume * p.price, p.symbol))
    return [p.symbol for p in bumped[:count]]


def run_demo(
    say: Say,
    seconds: float,
    speed: float,
    universe_size: int,
    days: int = 1,
    hold_days: float | None = further_days.DEMO_HOLD_DAYS,
    session_date: date | None = None,
) -> tuple[DemoSummary, DemoCast]:
    """Day 1 is the streamed session; with `days` > 1 the market moves on a session at a time and the
    paper trades are held at most `hold_days` (TRADES_MAX_HOLD_DAYS; None: the settings' exit rule)."""
    out = demo_dir()
    shutil.rmtree(out, ignore_errors=True)
    mail_dir = out / "mail"
    mail_dir.mkdir(parents=True)
    started_at = timezone.now()
    with MarketSimServer(seed=DEMO_SEED, speed=speed, session_date=session_date) as sim:
        say(
            f"Simulated market at {sim.rest_url}: session {sim.now():%Y-%m-%d}, clock {sim.now():%H:%M} "
            f"New York time, running {speed:g}x"
        )
        first_open = session_bounds(sim.session_date)[0]
        rich = further_days.add_rich_names(sim)
        subscriber_tickers = event_tickers(sim, SUBSCRIBER_TICKERS) + rich
        cast = seed_demo_users(subscriber_tickers)
        further_days.clear_trades(first_open)  # an earlier run's trades of these sessions
        # A fresh story each run: the demo users' earlier alerts would hold back today's by cooldown.
        Message.objects.filter(user__email__endswith="@demo.local").delete()  # and their alerts
        say(
            f"Users: {cast.subscriber.email} follows {', '.join(subscriber_tickers)}; "
            f"{cast.discovery.email} has discovery mode on; {cast.nobody.email} follows nothing."
        )
        overrides = {
            "EMAIL_BACKEND": "alerts.emails.EmlFileBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "UNIVERSE_SIZE": universe_size,
        }
        if days > 1 and hold_days:
            overrides["TRADES_MAX_HOLD_DAYS"] = hold_days
            say(
                f"Playing {days} trading days; paper trades are held at most {hold_days:g} day(s) "
                f"(TRADES_MAX_HOLD_DAYS, set for this run: the exit rule alone waits for the front expiry)."
            )
        reports: list[further_days.DayReport] = []
        # The simulator's own clock, read directly: the further days set it, and a cached server time
        # would not follow the jumps.
        with using_market(sim.rest_url, clock=sim.now, **overrides):
            refresh_universe_for_demo(say, universe_size)
            mode = "embedded"
            if settings.REDIS_URL:
                mode = "celery"
                with celery_processes(overrides, say):
                    moves = stream_for(say, seconds)
                    wait_until_quiet(say, started_at, deadline_s=120)
            else:
                moves = stream_for(say, seconds)
            if days > 1:
                say(f"Day 1 ({sim.session_date:%a %Y-%m-%d}) done: {opened_so_far(first_open)} paper trades opened.")
                with tasks_in_this_process():
                    reports = further_days.play_days(sim, say, days, first_open)
            record = further_days.track_record(first_open, reports)
        api_calls = int(sim.stats()["rest_requests"])
    summary = summarize(started_at, moves, api_calls, mail_dir, cast, mode)
    summary.days, summary.track_record = days, asdict(record)
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary, cast


def opened_so_far(since: datetime) -> int:
    return further_days.run_trades(since).count()


@contextmanager
def tasks_in_this_process() -> Iterator[None]:
    """The further days run their tasks here (eager): with REDIS_URL set the worker has stopped by then."""
    from celery import current_app

    saved = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        yield
    finally:
        current_app.conf.task_always_eager = saved


def refresh_universe_for_demo(say: Say, size: int) -> None:
    from discovery.universe import refresh_universe

    outcome = refresh_universe(size=size)
    leaders = ", ".join(m.ticker for m in outcome.members[:8])
    say(f"Discovery universe: {outcome.message} Top: {leaders}, ...")
    from scanner.underlyings import refresh_from_vendor

    listed = refresh_from_vendor()
    say(f"Optionable underlyings (what users may follow): {listed.size} from the market's listing.")


def stream_for(say: Say, seconds: float) -> int:
    from scanner.stream.service import run_stream

    say(f"Streaming for {seconds:g} s: every 0.5% move of a watched ticker enqueues a scan ...")
    result = run_stream(duration_s=seconds)
    stats = result.stats
    say(
        f"Stream: {stats.events:,} events on {stats.watched} tickers, {stats.triggers} moves, "
        f"{stats.enqueued} scans enqueued, {stats.reconnects} reconnects."
    )
    return stats.triggers


@contextmanager
def celery_processes(overrides: dict, say: Say) -> Iterator[None]:
    """A real worker (both queues) and beat, sharing this process's database, broker and market."""
    env = dict(os.environ, POLYGON_REST_URL=settings.POLYGON_REST_URL, POLYGON_WS_URL=settings.POLYGON_WS_URL)
    env.update({k: str(v) for k, v in overrides.items()})
    env.setdefault("DATABASE_URL", settings.DATABASE_URL)
    log_dir = demo_dir()
    commands = {
        "worker": [
            "-m",
            "celery",
            "-A",
            "forwardfactor",
            "worker",
            "-Q",
            "scan,notify",
            "--concurrency",
            "4",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"demo-{os.getpid()}@%h",
        ],
        "beat": [
            "-m",
            "celery",
            "-A",
            "forwardfactor",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(log_dir / "beat-schedule"),
        ],
    }
    processes = []
    for name, args in commands.items():
        log = open(log_dir / f"{name}.log", "w")
        processes.append(
            (
                name,
                log,
                subprocess.Popen(
                    [sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
                ),
            )
        )
    say(f"Started a Celery worker and beat on {settings.CELERY_BROKER_URL} (logs in {log_dir}).")
    try:
        yield
    finally:
        for _name, _log, process in processes:
            process.send_signal(signal.SIGTERM)
        for name, log, process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                say(f"{name} did not stop within 30 s and was killed")
            log.close()


def wait_until_quiet(say: Say, since: datetime, deadline_s: float) -> None:
    """Wait until every enqueued scan has finished and every message has left the outbox."""
    from forwardfactor.shared_state import shared_redis

    deadline = time.monotonic() + deadline_s
    broker = shared_redis()
    while time.monotonic() < deadline:
        queued = broker.llen("scan") + broker.llen("notify")
        running = Scan.objects.filter(started_at__gte=since, outcome=Scan.Outcome.RUNNING).count()
        outbox = Message.objects.filter(
            created_at__gte=since, status__in=[Message.Status.PENDING, Message.Status.SENDING]
        ).count()
        if not (queued or running or outbox):
            return
        time.sleep(0.25)
    say(f"Gave up waiting after {deadline_s:g} s: work was still queued or running.")


def summarize(since: datetime, moves: int, api_calls: int, mail_dir: Path, cast: DemoCast, mode: str) -> DemoSummary:
    scans = Scan.objects.filter(started_at__gte=since)
    alerts = Alert.objects.filter(created_at__gte=since, user__email__endswith="@demo.local")
    by_kind = dict(alerts.values_list("kind").annotate(n=Count("id")))
    messages = Message.objects.filter(created_at__gte=since, user__email__endswith="@demo.local")
    recipients = dict(messages.values_list("user__email").annotate(n=Count("id")))
    return DemoSummary(
        moves=moves,
        scans=scans.count(),
        signals=Signal.objects.filter(scan__in=scans).count(),
        alerts={
            "subscription": by_kind.get(Alert.Kind.SUBSCRIPTION, 0),
            "discovery": by_kind.get(Alert.Kind.DISCOVERY, 0),
        },
        messages=messages.count(),
        emails=len(list(mail_dir.glob("*.eml"))),
        api_calls=api_calls,
        mode=mode,
        recipients=recipients,
    )
