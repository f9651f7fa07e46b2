"""Runtime fault switches of the simulated vendor, shared by the REST and WebSocket sides."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

# rate_limit, server_errors and truncated_json: N >= 1 hits the next N requests; a value in (0, 1) hits
# that fraction of them.


@dataclass
class Faults:
    latency_ms: int = 0  # added to every REST answer
    rate_limit: float = 0.0  # 429 with Retry-After
    retry_after: int = 1  # seconds, in the 429's Retry-After header
    server_errors: float = 0.0  # 5xx (502, 503, 504, 500 in turn)
    truncated_json: float = 0.0  # 200 with the body cut in half
    repeat_cursor: bool = False  # next_url repeats the cursor it was called with, forever
    not_authorized: bool = False  # REST 403 NOT_AUTHORIZED (the plan lacks the data)
    earnings_not_authorized: bool = False  # 403 NOT_AUTHORIZED on the earnings calendar only (no Benzinga add-on)
    auth_failure: bool = False  # REST 401, WebSocket auth_failed
    ws_abort: int = 0  # drop N connections without a close frame (open ones now, later ones after auth)
    slow_frames: int = 0  # milliseconds before each event frame
    max_connections: int = 0  # authenticated connections allowed (0: unlimited); extra ones get max_connections
    force_disconnect: int = 0  # send force_disconnect to N connections, then a normal close

    def __post_init__(self) -> None:
        self._draws = random.Random(20240601)

    def update(self, **switches: Any) -> None:
        known = {field.name: field for field in fields(self)}
        for name, raw in switches.items():
            if name not in known:
                raise ValueError(f"unknown fault switch {name!r}; known: {', '.join(known)}")
            setattr(self, name, _coerce(name, raw, _KINDS[str(known[name].type)]))

    def take(self, name: str) -> bool:
        """Whether this request is hit by a proportional switch (consuming one of N)."""
        level = getattr(self, name)
        if level <= 0:
            return False
        if level >= 1:
            setattr(self, name, level - 1 if level >= 2 else 0.0)
            return True
        return self._draws.random() < level

    def take_count(self, name: str) -> bool:
        if getattr(self, name) > 0:
            setattr(self, name, getattr(self, name) - 1)
            return True
        return False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_KINDS: dict[str, type] = {"int": int, "float": float, "bool": bool}


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, str):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"fault switch {name} takes true/false, not {raw!r}")
        return bool(raw)
    try:
        number = kind(float(raw))
    except (TypeError, ValueError):
        raise ValueError(f"fault switch {name} takes a number, not {raw!r}") from None
    if number < 0:
        raise ValueError(f"fault switch {name} must be >= 0")
    return number
