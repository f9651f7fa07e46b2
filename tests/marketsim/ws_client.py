"""A bare client for the stocks socket: connect, auth, subscribe, read frames with a deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

DEADLINE = 10.0


async def open_session(url: str, key: str = "test-key") -> tuple[ClientConnection, list[dict[str, Any]]]:
    ws = await connect(url, open_timeout=DEADLINE)
    connected = await recv(ws)
    await ws.send(orjson.dumps({"action": "auth", "params": key}).decode())
    return ws, connected + await recv(ws)


async def recv(ws: ClientConnection) -> list[dict[str, Any]]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), DEADLINE))


async def send(ws: ClientConnection, action: str, params: str) -> None:
    await ws.send(orjson.dumps({"action": action, "params": params}).decode())


async def until(ws: ClientConnection, wanted, limit: int = 10_000) -> list[dict[str, Any]]:
    """Read frames until `wanted(event)` holds for some event; returns every event read."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        frame = await recv(ws)
        seen.extend(frame)
        if any(wanted(event) for event in frame):
            return seen
    raise AssertionError("the wanted event never came")
