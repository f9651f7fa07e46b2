"""Move references (the price at a ticker's last scan) in Redis, so a restart keeps them; every
completed scan also announces its price on a channel so a running consumer follows it."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
import redis

REFERENCES_KEY = "ff:stream:ref"
REFERENCES_CHANNEL = "ff:stream:scanned"


def publish_scan_reference(
    client: redis.Redis,
    symbol: str,
    price: float,
    at_ms: int,
    vol: float | None = None,
    requests: int | None = None,
) -> None:
    """The price a scan saw at market time ``at_ms``: stored for restarts and announced to the consumer,
    with the scan's ATM volatility and chain requests when known (the trigger rule's inputs; after a
    restart they come from the database)."""
    ReferenceStore(client).save({symbol: price})
    message: dict = {"symbol": symbol, "price": price, "at_ms": at_ms}
    if vol is not None:
        message["vol"], message["requests"] = vol, requests
    client.publish(REFERENCES_CHANNEL, orjson.dumps(message))


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
