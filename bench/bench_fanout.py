"""Alert fan-out: 10,000 followers of one ticker, from routing a scan's signals to every message accepted by SMTP.

Runs on the services of DATABASE_URL (PostgreSQL) and REDIS_URL, in a throw-away database created
beside the configured one. A real Celery worker subprocess (prefork, 2 processes) consumes the
``notify`` queue and delivers over SMTP to a local aiosmtpd server. Each round routes a scan of
another ticker that all 10,000 users follow, with three signals (pairs) that pass for everyone:
30,000 alerts grouped into 10,000 messages. The figures are medians over the rounds.

Then the same rounds on other tickers with the worker marking each message sent at once
(``ALERT_MARK_SENT_EVERY=1``, as before group marks): the baseline, measured in the same run.

Metrics:
* fanout.emails_per_s: messages accepted by SMTP per second, from the start of routing to the last one
  (baseline: the same with one "sent" UPDATE per message).
* fanout.route_ms: routing the scan and storing the 10,000 messages and 30,000 alerts.
* fanout.routing_queries: database queries for that, against the same for 100 followers (baseline).
* fanout.messages_per_scan_user: messages created per user per scan (one, whatever the signals).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from testing.polling import wait_for
from testing.services import WorkerProcess

USERS = 10_000
SMALL = 100
ROUNDS = 3
TICKERS = ("FANA", "FANB", "FANC")
BASELINE_TICKERS = ("FAND", "FANE", "FANF")  # the rounds with a "sent" UPDATE per message
PAIRS = ("30-60", "30-90", "60-90")  # signals of each scan; every user gets all three in one message
GOAL_EMAILS_PER_S = 500


def run() -> list[dict]:
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        print(
            "   skipped: needs DATABASE_URL=postgres://… and REDIS_URL=redis://… (a real database, broker and worker)"
        )
        return []
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return _measure()
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def _measure() -> list[dict]:
    from testing.smtp_sink import SmtpSink

    users = _seed()
    sink = SmtpSink(keep=False).start()
    route_ms, queries, per_user = [], [], []
    try:
        worker = _start_worker(sink.port)
        try:
            worker.wait_ready(celery_app())
            baseline_queries, _ = _route("SMALL")
            rates = _rounds(sink, TICKERS[:ROUNDS], users, route_ms, queries, per_user)
        finally:
            worker.stop()
        worker = _start_worker(sink.port, ALERT_MARK_SENT_EVERY="1")
        try:
            worker.wait_ready(celery_app())
            baseline_rates = _rounds(sink, BASELINE_TICKERS[:ROUNDS], users, [], [], [])
        finally:
            worker.stop()
        wait_for(lambda: _sent() == users * (len(rates) + len(baseline_rates)), 30, "every message marked sent")
    finally:
        sink.stop()
    emails_per_s, baseline = statistics.median(rates), statistics.median(baseline_rates)
    print(f"   rounds: {', '.join(f'{r:.0f}/s' for r in rates)}; route {', '.join(f'{m:.0f} ms' for m in route_ms)}")
    print(f"   baseline rounds (a 'sent' UPDATE per message): {', '.join(f'{r:.0f}/s' for r in baseline_rates)}")
    return [
        {
            "name": "fanout.emails_per_s",
            "value": round(emails_per_s, 1),
            "unit": "emails/s",
            "baseline": round(baseline, 1),
            "ratio": round(emails_per_s / baseline, 2),
            "goal": f">= {GOAL_EMAILS_PER_S} (baseline: a 'sent' UPDATE per message)",
        },
        {
            "name": "fanout.route_ms",
            "value": round(statistics.median(route_ms), 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "goal": None,
        },
        {
            "name": "fanout.routing_queries",
            "value": statistics.median(queries),
            "unit": "queries",
            "baseline": baseline_queries,
            "ratio": round(statistics.median(queries) / baseline_queries, 3),
            "goal": f"== baseline ({SMALL} users)",
        },
        {
            "name": "fanout.messages_per_scan_user",
            "value": statistics.median(per_user),
            "unit": "messages",
            "baseline": len(PAIRS),
            "ratio": round(statistics.median(per_user) / len(PAIRS), 3),
            "goal": "== 1 (baseline: one per signal, as before messages)",
        },
    ]


def _rounds(sink, tickers, users: int, route_ms: list, queries: list, per_user: list) -> list[float]:
    """One round per ticker: route its scan to every follower, wait for SMTP to accept every message."""
    rates = []
    for ticker in tickers:
        already = sink.accepted
        started = time.perf_counter()
        count, elapsed_ms = _route_and_dispatch(ticker, queries)
        route_ms.append(elapsed_ms)
        per_user.append(count / users)
        wait_for(
            lambda already=already, count=count: sink.accepted - already >= count, 180, f"{count} messages for {ticker}"
        )
        rates.append(count / (time.perf_counter() - started))
        assert count == users, (count, users)
    return rates


def _seed() -> int:
    """10,000 users following every bench ticker, 100 more following SMALL; one scan per ticker with a signal per pair."""
    from allauth.account.models import EmailAddress

    from accounts.models import AlertSettings, Subscription, User
    from testing.factories import saved_signals, signal_dict

    people = User.objects.bulk_create(
        [User(email=f"trader{i}@bench.test", password="!") for i in range(USERS + SMALL)], batch_size=2000
    )
    # Loose floors so the hand-made signal passes everyone; bulk_create skips the post_save receiver.
    AlertSettings.objects.bulk_create([AlertSettings(user=p, ff_threshold=0.2) for p in people], batch_size=2000)
    # Alerts go to verified addresses only.
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=p, email=p.email, verified=True, primary=True) for p in people], batch_size=2000
    )
    Subscription.objects.bulk_create(
        [Subscription(user=p, ticker=t) for p in people[:USERS] for t in (*TICKERS, *BASELINE_TICKERS)]
        + [Subscription(user=p, ticker="SMALL") for p in people[USERS:]],
        batch_size=5000,
    )
    for ticker in (*TICKERS, *BASELINE_TICKERS, "SMALL"):
        saved_signals(*(signal_dict(ticker, pair=pair, ff=0.31) for pair in PAIRS))
    return USERS


def _signals(ticker: str):
    from scanner.models import Signal

    return list(Signal.objects.filter(ticker=ticker))


def _route(ticker: str) -> tuple[int, list]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.service import alert_signals

    signals = _signals(ticker)
    with CaptureQueriesContext(connection) as captured:
        created = alert_signals(ticker, signals, signals[0].scan_id)
    return len(captured), created


def _route_and_dispatch(ticker: str, queries: list[int]) -> tuple[int, float]:
    from alerts.tasks import enqueue_message_batches

    started = time.perf_counter()
    count, planned = _route(ticker)
    elapsed_ms = (time.perf_counter() - started) * 1000
    queries.append(count)
    enqueue_message_batches([p.message.pk for p in planned])
    return len(planned), elapsed_ms


def _sent() -> int:
    from alerts.models import Message

    return Message.objects.filter(status=Message.Status.SENT).count()


def _start_worker(smtp_port: int, **extra_env: str) -> WorkerProcess:
    """The production worker command (prefork, 2 processes) on this test database and the SMTP sink
    (``extra_env``: more environment, e.g. ALERT_MARK_SENT_EVERY)."""
    from django.db import connection

    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    return WorkerProcess(env, Path(tempfile.mkdtemp()) / "worker.log", name="bench-fanout").start()


def celery_app():
    from forwardfactor.celery import app

    return app
