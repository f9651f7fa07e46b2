"""`manage.py stream` as an operator runs it: --duration ends it, and without REDIS_URL it refuses
unless told --embedded."""

from __future__ import annotations

import gc
import io
import re
import time

import pytest
from django.core.management import CommandError, call_command

STOPPED = re.compile(r"^stream stopped after (\d+) s: (\d+) events, \d+ triggers, \d+ scans enqueued, \d+ reconnects$")


@pytest.fixture
def on_the_simulated_market(market, shared_state_reset):
    """This process reads data, stream and clock from the ``market`` fixture's simulator."""
    from forwardfactor.runtime import using_market

    with using_market(market.rest_url, clock=market.now):
        yield market
    # The stream's threads have ended, but their database connections wait in reference cycles for a
    # collection, and PostgreSQL will not drop the test database while they are open.
    gc.collect()


@pytest.fixture
def aapl_followed(transactional_db):
    from accounts.models import Subscription, User

    user = User.objects.create_user("trader@example.com", "pw")
    Subscription.objects.create(user=user, ticker="AAPL")


def run_stream_command(*args: str) -> tuple[str, float]:
    out = io.StringIO()
    started = time.monotonic()
    call_command("stream", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip(), time.monotonic() - started


@pytest.mark.services
def test_duration_streams_for_that_many_seconds_then_stops(redis_client, on_the_simulated_market, aapl_followed):
    # given the simulated market in session, Redis, and a user following AAPL
    from scanner.stream.health import read_health

    # when the stream runs with --duration 2
    line, elapsed = run_stream_command("--duration", "2")
    # then it returned after about two seconds, having streamed AAPL's per-second bars
    assert 2 <= elapsed < 10
    stopped = STOPPED.match(line)
    assert stopped, line
    assert int(stopped[1]) in (2, 3) and int(stopped[2]) > 0
    # and it left its heartbeat saying so
    assert read_health(redis_client)["state"] == "stopped"


def test_without_redis_url_it_refuses_in_one_line(settings):
    # given no REDIS_URL
    settings.REDIS_URL = ""
    # when / then
    with pytest.raises(CommandError) as error:
        call_command("stream", "--duration", "1", stdout=io.StringIO())
    assert str(error.value) == (
        "REDIS_URL is not set: the stream takes its leader lock and sends its scans through Redis. "
        "Set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/0), or pass --embedded to try it in-process."
    )


def test_embedded_runs_without_redis_url(settings, on_the_simulated_market, aapl_followed):
    # given no REDIS_URL (so the in-process Redis) and the simulated market
    settings.REDIS_URL = ""
    # when the stream runs --embedded for one second
    line, elapsed = run_stream_command("--embedded", "--duration", "1")
    # then it streamed and stopped
    assert 1 <= elapsed < 10
    assert STOPPED.match(line), line


def test_on_a_database_never_migrated_it_says_to_migrate(tmp_path):
    # given a fresh SQLite file with no tables
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    root = Path(__file__).resolve().parents[2]
    # when the stream starts on it
    done = subprocess.run(
        [sys.executable, "manage.py", "stream", "--embedded", "--duration", "1"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then one line says what to do, and no traceback
    assert done.returncode == 1
    assert done.stderr.strip() == "CommandError: the database is not migrated: run `manage.py migrate` first"
