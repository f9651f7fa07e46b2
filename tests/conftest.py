"""Shared fixtures. Tests use DATABASE_URL / REDIS_URL when set; a test that needs a missing service
skips with the reason, except under FF_REQUIRE_SERVICES=1 (CI), where it fails."""

from __future__ import annotations

import os

import pytest

from testing.smtp_sink import SmtpSink

REQUIRE_SERVICES = os.environ.get("FF_REQUIRE_SERVICES") == "1"


def need_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"FF_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres(settings) -> None:
    """The test database is PostgreSQL (DATABASE_URL=postgres://…)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        need_service("DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """A real Redis (REDIS_URL), emptied before the test. Use a database number of its own per runner."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        need_service("REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        need_service(f"Redis at REDIS_URL does not answer: {exc}")
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def redis_client(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def shared_state_reset():
    """Drop the process-wide shared Redis client before and after a test."""
    from forwardfactor.shared_state import reset_shared_redis

    reset_shared_redis()
    yield
    reset_shared_redis()


@pytest.fixture
def live_worker(redis_url, transactional_db):
    """A real Celery worker thread consuming both queues from Redis (use with transactional tests)."""
    from celery.contrib.testing.worker import start_worker

    from forwardfactor.celery import app, close_task_connections

    if app.conf.task_always_eager:
        need_service("Celery is eager: REDIS_URL was not set when settings loaded")
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["scan", "notify"],
        shutdown_timeout=30,
    ) as worker:
        yield worker
    close_task_connections()  # the test worker does not send worker_shutdown


@pytest.fixture
def eager_celery():
    """Tasks run in-process, as on embedded defaults (a task a test triggers is not left in a real queue)."""
    from forwardfactor.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def smtp_sink(settings):
    """A real local SMTP server; Django's SMTP backend is pointed at it."""
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def _pinned_site(settings):
    settings.SITE_URL = "https://ff.example"


@pytest.fixture(autouse=True)
def _market_clock_unpinned():
    """A test that pins the market clock (set_clock_source) never leaks it into the next one."""
    yield
    from market.clock import set_clock_source

    set_clock_source(None)
