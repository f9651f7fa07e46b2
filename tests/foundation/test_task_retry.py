"""Transient infrastructure errors are retried in every task: Redis or PostgreSQL connections lost for a
moment, the broker refusing a retry's publish (then the message is requeued, not dropped)."""

from __future__ import annotations

from datetime import date

import kombu.exceptions
import pytest
import redis
from celery.exceptions import Reject
from django.db import OperationalError, connection

from forwardfactor.celery import app
from forwardfactor.task_retry import TRANSIENT_INFRA_ERRORS, drop_database_connections
from scanner.models import Scan

pytestmark = [pytest.mark.services]

TASKS = [
    "scanner.tasks.scan_ticker",
    "scanner.tasks.stream_heartbeat",
    "scanner.tasks.requeue_abandoned_scans",
    "scanner.tasks.send_alerts",
    "scanner.tasks.send_digests",
    "scanner.tasks.flush_held_alerts",
    "scanner.tasks.refresh_universe",
    "scanner.tasks.discovery_sweep",
]


@pytest.mark.parametrize("name", TASKS)
def test_every_task_retries_transient_infrastructure_errors_with_jitter(name):
    app.loader.import_default_modules()
    task = app.tasks[name]
    assert set(TRANSIENT_INFRA_ERRORS) <= set(task.autoretry_for)
    assert task.retry_backoff and task.retry_jitter and task.max_retries >= 6


def test_the_vendor_and_smtp_errors_are_still_retried():
    from scanner.polygon.errors import TransientError

    app.loader.import_default_modules()
    assert TransientError in app.tasks["scanner.tasks.scan_ticker"].autoretry_for
    assert OSError in app.tasks["scanner.tasks.send_alerts"].autoretry_for


@pytest.fixture
def scan_worker(settings, postgres, redis_url, shared_state_reset, live_worker):
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, speed=1.0, session_date=date(2026, 11, 30)).start()
    server.add_ticker("RETRY", price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def fail_once(monkeypatch, owner, name: str, error: BaseException) -> list[int]:
    """Make ``owner.name`` raise ``error`` on its first call only; the list counts the calls."""
    real = getattr(owner, name)
    calls: list[int] = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_redis_connection_error_inside_a_scan_is_retried_to_success(scan_worker, monkeypatch):
    from scanner.polygon.ratelimit import RateLimiter
    from scanner.tasks import scan_ticker

    # given the fleet rate limiter losing its Redis connection once
    calls = fail_once(monkeypatch, RateLimiter, "try_acquire", redis.ConnectionError("Connection reset by peer"))
    # when a scan runs on a worker
    result = scan_ticker.apply_async(args=["RETRY", "manual"], ignore_result=False)
    # then it was retried and completed its own scan row
    assert result.get(timeout=60)["outcome"] == "ok"
    scan = Scan.objects.get(task_id=result.id)
    assert scan.outcome == Scan.Outcome.OK and scan.attempts == 2 and len(calls) > 1


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_inside_a_scan_is_retried_on_a_new_connection(scan_worker, monkeypatch):
    from scanner import scanning
    from scanner.tasks import scan_ticker

    # given a model read in the scan failing once as a dropped PostgreSQL connection does
    calls = fail_once(
        monkeypatch, scanning, "known_price", OperationalError("server closed the connection unexpectedly")
    )
    # when a scan runs on a worker
    result = scan_ticker.apply_async(args=["RETRY", "manual"], ignore_result=False)
    # then it was retried and succeeded
    assert result.get(timeout=60)["outcome"] == "ok"
    assert Scan.objects.get(task_id=result.id).attempts == 2 and len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_a_broken_database_connection_is_closed_and_the_next_query_opens_a_new_one(postgres):
    # given this thread's connection killed by the server
    from django.db import connections

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    # when the retry path drops broken connections
    drop_database_connections()
    # then the next query runs on a new connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_retry_the_broker_refuses_is_requeued_not_dropped(monkeypatch):
    from celery.canvas import Signature

    from scanner.tasks import stream_heartbeat

    # given a broker that refuses every publish
    def refuse(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(Signature, "apply_async", refuse)
    # when a task running on a worker retries
    stream_heartbeat.push_request(id="hb-1", retries=0, called_directly=False, delivery_info={})
    try:
        with pytest.raises(Reject) as rejected:
            stream_heartbeat.retry(exc=redis.ConnectionError("lost"), countdown=1)
    finally:
        stream_heartbeat.pop_request()
    # then the message is rejected with requeue (redelivered), not deleted as Celery does by default
    assert rejected.value.requeue is True
