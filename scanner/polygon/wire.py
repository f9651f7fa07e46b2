"""The vendor's WebSocket protocol (DESIGN.md §4): the only module that knows its message shapes.

Frames are JSON arrays. Control messages are ``{"ev":"status","status":…,"message":…}``; price
events are ``T`` trades (price ``p``, time ``t`` in ms) or ``A``/``AM`` aggregates (close ``c``,
window end ``e`` in ms). Price events stay as decoded records and go straight to
:meth:`MoveTrigger.observe_records` with the field names from :class:`Channel`: building our own
object per event would cost more than the rest of the hot path together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

CONNECTED = "connected"
AUTH_SUCCESS = "auth_success"
AUTH_FAILED = "auth_failed"
# Statuses after which the vendor closes the connection: reconnect with backoff.
DISCONNECTING = frozenset({"max_connections", "force_disconnect", "slow_consumer"})
# Keep subscribe messages a sane size; the vendor accepts comma-separated lists.
SUBSCRIBE_CHUNK = 400


@dataclass(frozen=True)
class Channel:
    """Which event stream carries the prices, and where price and time sit in its records."""

    prefix: str
    kinds: frozenset[str]
    price_key: str
    time_key: str


CHANNELS = {
    "A": Channel("A", frozenset({"A"}), "c", "e"),
    "AM": Channel("AM", frozenset({"AM"}), "c", "e"),
    "T": Channel("T", frozenset({"T"}), "p", "t"),
}


def channel(name: str) -> Channel:
    try:
        return CHANNELS[name.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown stream channel {name!r}: use one of {', '.join(CHANNELS)}") from None


@dataclass(frozen=True)
class Status:
    status: str
    message: str


class ProtocolError(Exception):
    """The server said something the handshake does not allow."""


def decode(raw: bytes | str) -> list[Any]:
    """A frame's records; anything that is not a JSON array decodes to an empty list."""
    try:
        records = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    return records if isinstance(records, list) else []


def statuses(records: Iterable[Any]) -> Iterator[Status]:
    for record in records:
        if isinstance(record, dict) and record.get("ev") == "status":
            yield Status(str(record.get("status", "")), str(record.get("message", "")))


def auth_message(api_key: str) -> bytes:
    return orjson.dumps({"action": "auth", "params": api_key})


def subscription_messages(action: str, chan: Channel, symbols: Iterable[str]) -> list[bytes]:
    """``subscribe``/``unsubscribe`` messages for ``symbols`` on ``chan``, in chunks."""
    ordered = sorted(symbols)
    return [
        orjson.dumps(
            {"action": action, "params": ",".join(f"{chan.prefix}.{s}" for s in ordered[i : i + SUBSCRIBE_CHUNK])}
        )
        for i in range(0, len(ordered), SUBSCRIBE_CHUNK)
    ]
