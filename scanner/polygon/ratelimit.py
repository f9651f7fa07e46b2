"""One request budget for every process that shares the API key: a token bucket in Redis.

The vendor limits per key, and Celery's own ``rate_limit`` is per worker, so the bucket lives in the
shared Redis and is updated atomically by a Lua script that reads the clock of the Redis server (one
clock for the whole fleet, whatever the workers' clocks say). On embedded defaults the shared Redis is
in-process (fakeredis with Lua) and the same script runs there.

A 429 from the vendor empties the bucket for ``Retry-After`` seconds for everyone (``pause``).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

import redis

from scanner.polygon.errors import RateLimitedError

# Numbers are written with string.format: Lua's tostring keeps 14 digits, too few for microseconds.
# KEYS[1] bucket hash {tokens, at_us, paused_until_us}; ARGV: rate per second, capacity, tokens wanted.
# Returns the microseconds to wait before a retry can succeed, 0 when the tokens were taken.
_ACQUIRE = """
local now_pair = redis.call('TIME')
local now = tonumber(now_pair[1]) * 1000000 + tonumber(now_pair[2])
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at_us', 'paused_until_us')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
local paused_until = tonumber(state[3]) or 0
if paused_until > now then
  return paused_until - now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate / 1000000)
end
local ttl_ms = math.ceil(capacity / rate * 1000) + 1000
if tokens >= wanted then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens - wanted), 'at_us', string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
  return 0
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens), 'at_us', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return math.max(1, math.ceil((wanted - tokens) * 1000000 / rate))
"""

# KEYS[1] bucket hash; ARGV[1] pause in microseconds. Nobody gets a token until the pause is over,
# and the bucket restarts empty so the fleet does not burst straight back into the limit.
_PAUSE = """
local now_pair = redis.call('TIME')
local now = tonumber(now_pair[1]) * 1000000 + tonumber(now_pair[2])
local until_us = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until_us')) or 0
if until_us > current then
  local stamp = string.format('%.0f', until_us)
  redis.call('HSET', KEYS[1], 'paused_until_us', stamp, 'tokens', '0', 'at_us', stamp)
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) / 1000) + 60000)
end
return 0
"""

_RATE_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)\s*)?$")


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``per_seconds``; the bucket holds at most ``count`` tokens (the burst)."""

    count: float
    per_seconds: float = 1.0

    @classmethod
    def parse(cls, spec: str) -> Rate:
        """'10' is 10 per second; '5/60' is 5 per 60 seconds."""
        match = _RATE_SPEC.match(spec or "")
        if not match:
            raise ValueError(f"rate {spec!r} is not understood: use a number per second (10) or COUNT/SECONDS (5/60)")
        count = float(match.group(1))
        per = float(match.group(2)) if match.group(2) else 1.0
        if count <= 0 or per <= 0:
            raise ValueError(f"rate {spec!r} must be positive")
        return cls(count, per)

    @property
    def per_second(self) -> float:
        return self.count / self.per_seconds

    @property
    def capacity(self) -> float:
        return max(1.0, self.count)

    def __str__(self) -> str:
        return f"{self.count:g}/{self.per_seconds:g}s"


class RateLimiter:
    """Blocking ``acquire`` against a token bucket shared through Redis by every process."""

    def __init__(self, client: redis.Redis, rate: Rate, name: str = "polygon") -> None:
        self._redis = client
        self.rate = rate
        self.key = f"ff:ratelimit:{name}"
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    @classmethod
    def for_api_key(cls, client: redis.Redis, rate: Rate, api_key: str) -> RateLimiter:
        """The vendor limits per key: one bucket per key, named by a digest so the key is not stored."""
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        return cls(client, rate, name=f"polygon:{digest}")

    def try_acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` if available; return 0.0, or the seconds to wait before trying again."""
        waited_us = self._acquire(keys=[self.key], args=[self.rate.per_second, self.rate.capacity, tokens])
        return int(waited_us) / 1_000_000

    def acquire(self, timeout: float = 30.0, tokens: float = 1.0) -> float:
        """Block until ``tokens`` are taken; return the seconds waited.

        Raises RateLimitedError when the tokens cannot be had within ``timeout`` seconds.
        """
        started = time.monotonic()
        deadline = started + timeout
        while True:
            wait = self.try_acquire(tokens)
            if wait == 0.0:
                return time.monotonic() - started
            remaining = deadline - time.monotonic()
            if wait > remaining:
                raise RateLimitedError(
                    f"rate limit {self.rate} across the fleet: no request slot within {timeout:g} s",
                    retry_after=wait,
                )
            time.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Stop every process from taking tokens for ``seconds`` (the vendor said 429 Retry-After)."""
        if seconds > 0:
            self._pause(keys=[self.key], args=[int(seconds * 1_000_000)])
