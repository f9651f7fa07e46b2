"""No Docker engine runs here, so docker-compose.yml is checked by reading it."""

import importlib
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat", "stream", "flower"]


def command_words(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    words = command if isinstance(command, list) else shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2].replace("$$", "$"))
    return words


def test_every_production_service_is_there():
    assert set(SERVICES) >= {"postgres", "redis", "web", "worker", "beat", "stream", "flower", "mailcatcher"}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_build_the_image_and_wait_for_healthy_dependencies(service):
    spec = SERVICES[service]
    assert spec["build"] == "." and (ROOT / "Dockerfile").exists()
    assert spec["environment"]["DATABASE_URL"].startswith("postgres://")
    assert spec["environment"]["REDIS_URL"].startswith("redis://redis:")
    for condition in spec["depends_on"].values():
        assert condition["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["postgres", "redis", "web", "stream", "worker"])
def test_long_running_services_have_health_checks(service):
    assert SERVICES[service]["healthcheck"]["test"]


def test_web_migrates_then_serves_the_real_wsgi_app():
    words = command_words("web")
    assert words[:4] == ["python", "manage.py", "migrate", "--noinput"]
    wsgi = words[words.index("gunicorn") + 1]
    module, _, attribute = wsgi.partition(":")
    assert hasattr(importlib.import_module(module), attribute or "application")


@pytest.mark.parametrize("service, subcommand", [("worker", "worker"), ("beat", "beat"), ("flower", "flower")])
def test_celery_services_name_the_real_app(service, subcommand):
    words = command_words(service)
    start = words.index("celery")
    assert words[start + 1 : start + 4] == ["-A", "forwardfactor", subcommand]
    assert importlib.import_module("forwardfactor").celery_app.main == "forwardfactor"


def test_worker_consumes_both_queues():
    words = command_words("worker")
    assert words[words.index("-Q") + 1].split(",") == ["scan", "notify"]


def test_stream_runs_the_management_command():
    words = command_words("stream")
    assert words[:3] == ["python", "manage.py", "stream"]
    assert "stream" in get_commands()
    assert SERVICES["stream"]["healthcheck"]["test"][-2:] == ["stream", "--check"]


def test_flower_is_protected_by_basic_auth():
    assert "FLOWER_BASIC_AUTH" in SERVICES["flower"]["command"][-1]
    assert "FLOWER_BASIC_AUTH=" in (ROOT / ".env.example").read_text()


def test_redis_keeps_an_append_only_file_fsynced_every_second():
    # A Redis crash loses at most the last second of queue changes (tests/faults/test_redis_kill.py).
    words = command_words("redis")
    assert words[0] == "redis-server"
    options = dict(zip(words[1::2], words[2::2], strict=False))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"


def test_the_image_builds_the_chain_reader_and_fails_without_it():
    # The image has no compiler at run time: the reader must be built (and required) while it has one.
    steps = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.strip() and line[0] != "#"]
    build = next(i for i, line in enumerate(steps) if "tools/build_fastscan.py" in line)
    assert "--require" in steps[build]
    copy = next(i for i, line in enumerate(steps) if line.startswith("COPY . ."))
    assert copy < build, "the reader's source is copied before it is built"
    assert "_fastscan" in (ROOT / ".dockerignore").read_text(), "a host-built reader must not enter the image"
