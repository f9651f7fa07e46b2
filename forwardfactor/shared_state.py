"""The one Redis every process shares: locks, the rate limiter, stream references, pub/sub.

With REDIS_URL set it is that server. Without it (embedded defaults) it is one in-process Redis
(fakeredis, with Lua) so the same code paths run in a single process with no services.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_lock = threading.Lock()
_connection: redis.Redis | None = None


def shared_redis() -> redis.Redis:
    """A process-wide client (thread-safe connection pool); bytes in, bytes out."""
    global _connection
    if _connection is None:
        with _lock:
            if _connection is None:
                _connection = _connect()
    return _connection


def _connect() -> redis.Redis:
    if settings.REDIS_URL:
        return redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30
        )
    import fakeredis

    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def reset_shared_redis() -> None:
    """Forget the client (tests that switch REDIS_URL, forked processes)."""
    global _connection
    with _lock:
        _connection = None
