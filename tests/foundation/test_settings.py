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
