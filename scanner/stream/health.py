"""The stream consumer's heartbeat key in Redis, written every few seconds and read by ``stream --check``."""

from __future__ import annotations

import socket
import time
from typing import Any

import orjson
import redis

HEALTH_KEY_PREFIX = "ff:stream:health:"


def health_key(host: str | None = None) -> str:
    # Per host: a container's health check runs in the container of the process it checks.
    return HEALTH_KEY_PREFIX + (host or socket.gethostname())


def write_health(client: redis.Redis, report: dict[str, Any], ttl_s: float, host: str | None = None) -> None:
    client.set(health_key(host), orjson.dumps({**report, "at": time.time()}), px=int(ttl_s * 1000))


def read_health(client: redis.Redis, host: str | None = None) -> dict[str, Any] | None:
    raw = client.get(health_key(host))
    if raw is None:
        return None
    try:
        report = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return report if isinstance(report, dict) else None


def check_health(report: dict[str, Any] | None, max_age_s: float, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line): a fresh heartbeat from a leader, standby or idle consumer is healthy."""
    if report is None:
        return False, "no heartbeat from the stream consumer on this host"
    age = (time.time() if now is None else now) - float(report.get("at", 0))
    state = report.get("state", "?")
    if state == "stopped":
        return False, "the stream consumer on this host has stopped"
    if age > max_age_s:
        return False, f"stale heartbeat: last seen {age:.0f} s ago (state {state})"
    return True, f"ok: {state}, heartbeat {age:.0f} s ago"
