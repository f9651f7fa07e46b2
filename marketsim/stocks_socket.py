"""The vendor's stocks WebSocket protocol: connected -> auth -> subscribe/unsubscribe -> event frames.

`StocksHub` owns the connections and routes events (dicts with `ev` and `sym`) to the subscribers of
`EV.SYM` or `EV.*`, in JSON-array frames of at most `frame_size` events. Any event source can feed it
through `publish` (the simulated market does; a benchmark can blast its own events).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from marketsim.faults import Faults

EVENT_TYPES = ("T", "Q", "A", "AM")
FRAME_SIZE = 500
WILDCARD = "*"
MAX_CONNECTIONS_MESSAGE = (
    "Maximum number of websocket connections exceeded. You have reached the connection limit for your "
    "account. Please contact support to increase your plan limit."
)


def status(kind: str, message: str) -> bytes:
    return orjson.dumps([{"ev": "status", "status": kind, "message": message}])


@dataclass(eq=False)
class Subscriber:
    websocket: ServerConnection
    key: str = ""
    channels: dict[str, set[str]] = field(default_factory=lambda: {ev: set() for ev in EVENT_TYPES})

    def wants(self, ev: str, symbol: str) -> bool:
        symbols = self.channels.get(ev)
        return bool(symbols) and (WILDCARD in symbols or symbol in symbols)


class StocksHub:
    def __init__(self, faults: Faults, stats: Counter, frame_size: int = FRAME_SIZE) -> None:
        self.faults = faults
        self.stats = stats
        self.frame_size = frame_size
        self.subscribers: list[Subscriber] = []
        self._changed = asyncio.Event()

    # --- what is wanted -------------------------------------------------------------------------

    def wanted(self) -> dict[str, set[str]]:
        """Per event type, the subscribed symbols across connections ('*' for all)."""
        union: dict[str, set[str]] = {ev: set() for ev in EVENT_TYPES}
        for subscriber in self.subscribers:
            for ev, symbols in subscriber.channels.items():
                union[ev] |= symbols
        return union

    async def wait_for_subscription(self) -> None:
        """Return once some connection subscribes to at least one channel."""
        while not any(s.channels[ev] for s in self.subscribers for ev in EVENT_TYPES):
            self._changed.clear()
            await self._changed.wait()

    # --- sending --------------------------------------------------------------------------------

    async def publish(self, events: list[dict[str, Any]]) -> None:
        for subscriber in list(self.subscribers):
            mine = [event for event in events if subscriber.wants(event["ev"], event["sym"])]
            for start in range(0, len(mine), self.frame_size):
                await self._send_frame(subscriber, mine[start : start + self.frame_size])

    async def _send_frame(self, subscriber: Subscriber, events: list[dict[str, Any]]) -> None:
        if self.faults.slow_frames:
            await asyncio.sleep(self.faults.slow_frames / 1000)
        try:
            await subscriber.websocket.send(orjson.dumps(events), text=True)
        except ConnectionClosed:
            return
        self.stats["ws_frames"] += 1
        self.stats["ws_events"] += len(events)

    # --- faults on open connections -------------------------------------------------------------

    def apply_disconnect_faults(self) -> None:
        """Hit open connections with pending ws_abort / force_disconnect counts; the rest wait for
        the next connections to authenticate."""
        for subscriber in list(self.subscribers):
            self._maybe_disconnect(subscriber)

    def _maybe_disconnect(self, subscriber: Subscriber) -> bool:
        if self.faults.take_count("ws_abort"):
            self.stats["ws_aborted"] += 1
            self._drop(subscriber)
            subscriber.websocket.transport.abort()
            return True
        if self.faults.take_count("force_disconnect"):
            self.stats["ws_force_disconnected"] += 1
            self._drop(subscriber)
            asyncio.ensure_future(self._force_disconnect(subscriber))
            return True
        return False

    async def _force_disconnect(self, subscriber: Subscriber) -> None:
        try:
            await subscriber.websocket.send(status("force_disconnect", "Forced disconnect"), text=True)
            await subscriber.websocket.close()
        except ConnectionClosed:
            pass

    def _drop(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)
        self._changed.set()

    # --- one connection -------------------------------------------------------------------------

    async def serve(self, websocket: ServerConnection) -> None:
        self.stats["ws_connections"] += 1
        subscriber = Subscriber(websocket)
        try:
            await websocket.send(status("connected", "Connected Successfully"), text=True)
            async for message in websocket:
                self.stats["ws_messages_in"] += 1
                if not await self._handle(subscriber, message):
                    break
        except ConnectionClosed:
            pass
        finally:
            self._drop(subscriber)

    async def _handle(self, subscriber: Subscriber, message: str | bytes) -> bool:
        websocket = subscriber.websocket
        try:
            request = orjson.loads(message)
            action, params = request["action"], request.get("params", "")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await websocket.send(status("error", "Unable to parse message"), text=True)
            return True
        if action == "auth":
            return await self._authenticate(subscriber, str(params))
        if action in ("subscribe", "unsubscribe"):
            if subscriber not in self.subscribers:
                await websocket.send(status("error", "not authorized"), text=True)
                return True
            await self._change_channels(subscriber, action, str(params))
            return True
        await websocket.send(status("error", f"unknown action: {action}"), text=True)
        return True

    async def _authenticate(self, subscriber: Subscriber, key: str) -> bool:
        websocket = subscriber.websocket
        if subscriber in self.subscribers:
            await websocket.send(status("auth_success", "authenticated"), text=True)
            return True
        if not key or self.faults.auth_failure:
            self.stats["ws_auth_failed"] += 1
            await websocket.send(status("auth_failed", "authentication failed"), text=True)
            await websocket.close()
            return False
        limit = self.faults.max_connections
        if limit and sum(1 for s in self.subscribers if s.key == key) >= limit:
            self.stats["ws_max_connections"] += 1
            await websocket.send(status("max_connections", MAX_CONNECTIONS_MESSAGE), text=True)
            await websocket.close()
            return False
        subscriber.key = key
        self.subscribers.append(subscriber)
        await websocket.send(status("auth_success", "authenticated"), text=True)
        return not self._maybe_disconnect(subscriber)

    async def _change_channels(self, subscriber: Subscriber, action: str, params: str) -> None:
        replies = []
        for channel in (part.strip() for part in params.split(",")):
            ev, _, symbol = channel.partition(".")
            if ev not in EVENT_TYPES or not symbol:
                replies.append({"ev": "status", "status": "error", "message": f"invalid channel: {channel}"})
                continue
            if action == "subscribe":
                subscriber.channels[ev].add(symbol)
                replies.append({"ev": "status", "status": "success", "message": f"subscribed to: {channel}"})
            else:
                subscriber.channels[ev].discard(symbol)
                replies.append({"ev": "status", "status": "success", "message": f"unsubscribed to: {channel}"})
        for reply in replies:
            await subscriber.websocket.send(orjson.dumps([reply]), text=True)
        self._changed.set()
