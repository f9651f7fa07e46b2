"""Settings come from the environment; each case runs manage.py in a fresh process with its own env."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "Qz9-xV7_pL2#mN4$rT6&wY8*bH1@cJ3!",
    "ALLOWED_HOSTS": "ff.example.com",
    "SITE_URL": "https://ff.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "POLYGON_API_KEY": "a-real-looking-key",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    ours = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "POLYGON_API_KEY", "MARKET_SIMULATED_OK"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    clean.update({"FF_VAR_DIR": str(tmp_path)}, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_with_production_settings_prints_no_warnings(tmp_path):
    # given production-like settings
    # when Django's deployment checklist runs
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path)
    # then it finds nothing to warn about
    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize("secret", ["", None])
def test_debug_off_refuses_default_or_empty_secret_key(tmp_path, secret):
    # given DEBUG off and no usable SECRET_KEY
    env = {"DEBUG": "0", "REDIS_URL": "redis://127.0.0.1:6379/9", "POLYGON_API_KEY": "k"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    # when the service starts
    result = manage("check", env=env, tmp_path=tmp_path)
    # then it refuses and says what to set
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "Set SECRET_KEY" in result.stderr


def test_embedded_default_database_is_sqlite_under_var(tmp_path):
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
        env={},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "forwardfactor.sqlite3")


def test_embedded_default_celery_is_eager_and_broker_follows_redis_url(tmp_path):
    probe = "from forwardfactor.celery import app; print(app.conf.task_always_eager, app.conf.broker_url)"
    eager = manage("shell", "-v", "0", "-c", probe, env={}, tmp_path=tmp_path)
    real = manage("shell", "-v", "0", "-c", probe, env={"REDIS_URL": "redis://127.0.0.1:6379/9"}, tmp_path=tmp_path)
    assert eager.stdout.split()[0] == "True"
    assert real.stdout.split() == ["False", "redis://127.0.0.1:6379/9"]


def test_postgres_database_url_is_understood(tmp_path):
    probe = (
        "from django.conf import settings; d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'], d['HOST'])"
    )
    result = manage(
        "shell", "-v", "0", "-c", probe, env={"DATABASE_URL": "postgres://u:p@db.internal:5432/ff"}, tmp_path=tmp_path
    )
    assert result.stdout.split() == ["django.db.backends.postgresql", "ff", "db.internal"]


@pytest.mark.parametrize(
    "env, message",
    [({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"), ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean")],
)
def test_bad_environment_values_give_a_clear_message(tmp_path, env, message):
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    "missing, message",
    [
        ("POLYGON_API_KEY", "Set POLYGON_API_KEY, or MARKET_SIMULATED_OK=1 if a simulated market is meant"),
        ("REDIS_URL", "Set REDIS_URL, e.g. REDIS_URL=redis://redis:6379/0"),
    ],
)
def test_production_refuses_to_start_without_a_market_key_or_redis_in_one_line(tmp_path, missing, message):
    # given production settings without one of them
    env = {**PRODUCTION_ENV, missing: ""}
    # when the service starts
    result = manage("check", env=env, tmp_path=tmp_path)
    # then it refuses, the last line says what to set, and no traceback precedes it
    assert result.returncode != 0
    assert message in result.stderr.strip().splitlines()[-1]


def test_a_simulated_market_in_production_must_be_said_and_is_labelled(tmp_path):
    # given production settings without a key but with the operator's explicit word
    env = {**PRODUCTION_ENV, "POLYGON_API_KEY": "", "MARKET_SIMULATED_OK": "1"}
    probe = (
        "from django.contrib import admin; import forwardfactor.urls; from forwardfactor.runtime import "
        "simulated_market_label as label; print(admin.site.site_header, '|', label())"
    )
    # when it starts
    result = manage("shell", "-v", "0", "-c", probe, env=env, tmp_path=tmp_path)
    # then the admin header and the emails' label say the data is simulated
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Forward Factor · SIMULATED DATA | SIMULATED DATA"


def test_a_real_market_is_not_labelled(tmp_path):
    probe = "from django.contrib import admin; import forwardfactor.urls; print(admin.site.site_header)"
    result = manage("shell", "-v", "0", "-c", probe, env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.stdout.strip() == "Forward Factor"


def test_a_worker_refuses_to_start_when_the_database_is_unreachable(tmp_path):
    # given a database nobody listens for
    env = {"REDIS_URL": "redis://127.0.0.1:6379/9", "DATABASE_URL": "postgres://u:p@127.0.0.1:9/none"}
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    # when a worker starts
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "forwardfactor", "worker", "-P", "solo", "-l", "WARNING"],
        cwd=ROOT,
        env={**clean, "FF_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it exits non-zero with one line naming the setting
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("celery worker cannot reach the database (check DATABASE_URL):")
    )
    assert "Traceback" not in result.stderr
