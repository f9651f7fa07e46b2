"""Move references (the price at the last triggered scan) in Redis, so a restart keeps them."""

from __future__ import annotations

from collections.abc import Iterable

import redis

REFERENCES_KEY = "ff:stream:ref"


class ReferenceStore:
    def __init__(self, client: redis.Redis, key: str = REFERENCES_KEY) -> None:
        self._client = client
        self._key = key

    def load(self, symbols: Iterable[str]) -> dict[str, float]:
        symbols = list(symbols)
        if not symbols:
            return {}
        values = self._client.hmget(self._key, symbols)
        found: dict[str, float] = {}
        for symbol, value in zip(symbols, values):
            if value is None:
                continue
            try:
                found[symbol] = float(value)
            except ValueError:
                continue
        return found

    def save(self, references: dict[str, float]) -> None:
        if references:
            self._client.hset(self._key, mapping={s: repr(p) for s, p in references.items()})
