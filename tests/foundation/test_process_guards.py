"""The production-shape processes refuse to start without REDIS_URL, in one line, before installing or
connecting anything: on the in-memory broker they would start and do nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _without_redis(tmp_path: Path) -> dict[str, str]:
    # No REDIS_URL, no broker, no make flags inherited from an outer make (-j, -n).
    return {"PATH": "/usr/bin:/bin", "FF_VAR_DIR": str(tmp_path)}


@pytest.mark.parametrize("target", ["worker", "beat", "flower", "stream"])
def test_make_refuses_to_start_a_process_without_redis_url(tmp_path, target):
    # given an environment without REDIS_URL
    env = _without_redis(tmp_path)
    # when the make target runs
    result = subprocess.run(["make", "-s", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    # then it stops with one line that names the variable and an example value, and starts nothing
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"make {target} needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0 make {target}" in lines[0]


def test_make_starts_the_worker_when_redis_url_is_set(tmp_path):
    # given REDIS_URL; when make only prints what it would run (-n)
    env = {**_without_redis(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/0"}
    result = subprocess.run(["make", "-n", "worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    # then the guard lets the worker through
    assert result.returncode == 0, result.stderr
    assert ".venv/bin/celery -A forwardfactor worker -Q scan,notify" in result.stdout


def test_a_celery_worker_started_by_hand_without_redis_url_exits_with_one_line(tmp_path):
    # given an environment without REDIS_URL (Celery falls back to the in-memory broker)
    env = _without_redis(tmp_path)
    # when a worker is started directly, not through make
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "forwardfactor", "worker", "-P", "solo", "-l", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it exits at start-up with the reason, no traceback
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "celery worker needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/0): "
        "on the in-memory broker it would never receive a task"
    )
    assert "Traceback" not in result.stderr
