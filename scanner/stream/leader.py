"""A Redis leader lock: one stream consumer per vendor key streams, any other waits as a standby.

The leader renews a short lease; when it dies the lease runs out and a standby polling the key takes
over (ttl + poll interval, well inside 10 s with the defaults). Renewal and release check the token,
so a leader that lost its lease can never extend or delete its successor's.
"""

from __future__ import annotations

import secrets

import redis

LEADER_KEY = "ff:stream:leader"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock:
    def __init__(self, client: redis.Redis, ttl_s: float, key: str = LEADER_KEY, identity: str = "") -> None:
        self._client = client
        self._key = key
        self._ttl_ms = int(ttl_s * 1000)
        self.token = f"{identity}:{secrets.token_hex(8)}" if identity else secrets.token_hex(8)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def try_acquire(self) -> bool:
        return bool(self._client.set(self._key, self.token, nx=True, px=self._ttl_ms))

    def renew(self) -> bool:
        """Extend the lease; False when it is no longer ours."""
        return bool(self._renew(keys=[self._key], args=[self.token, self._ttl_ms]))

    def keep(self) -> bool:
        """Renew the lease, or take it again if it lapsed and nobody else took it (a stalled process
        whose lease ran out while no standby was waiting is still the only consumer)."""
        return self.renew() or self.try_acquire()

    def release(self) -> None:
        self._release(keys=[self._key], args=[self.token])

    def holder(self) -> str | None:
        value = self._client.get(self._key)
        return value.decode() if value is not None else None
