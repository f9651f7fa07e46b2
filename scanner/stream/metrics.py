"""Counters of the stream consumer and the per-interval rates it logs and reports to the health key."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StreamStats:
    """Totals since the consumer started (returned by ``run_stream``)."""

    events: int = 0
    frames: int = 0
    junk_frames: int = 0
    ignored: int = 0
    unwatched: int = 0  # events of names outside the watch set (a wildcard subscription's other names)
    triggers: int = 0
    suppressed: int = 0
    waited: int = 0  # triggers at the end of a move's longest wait
    enqueued: int = 0
    coalesced: int = 0
    scan_references: int = 0
    dispatch_errors: int = 0
    connects: int = 0
    reconnects: int = 0
    stalls: int = 0
    watched: int = 0
    subscribe_messages: int = 0
    wildcard: bool = False  # one <prefix>.* subscription instead of one per watched name
    full_watch_loads: int = 0  # the whole watch set read (start, reconciliation, unreadable messages)
    partial_watch_loads: int = 0  # only the names a watch-set message carried
    max_queue_wait_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Rates:
    events_per_s: float
    triggers: int
    queue_depth: int
    reconnects: int
    lag_ms: float
    feed_delay_ms: float | None

    def line(self) -> str:
        delay = "-" if self.feed_delay_ms is None else f"{self.feed_delay_ms:.0f} ms"
        return (
            f"{self.events_per_s:,.0f} events/s, {self.triggers} triggers, queue depth {self.queue_depth}, "
            f"{self.reconnects} reconnects, queue lag {self.lag_ms:.1f} ms, feed delay {delay}"
        )


class RateWindow:
    """Differences of the totals between two calls."""

    def __init__(self) -> None:
        self._last: tuple[float, int, int, int] | None = None

    def rates(
        self, now: float, stats: StreamStats, queue_depth: int, lag_ms: float, feed_delay_ms: float | None
    ) -> Rates:
        last = self._last or (now, stats.events, stats.triggers, stats.reconnects)
        self._last = (now, stats.events, stats.triggers, stats.reconnects)
        elapsed = now - last[0]
        return Rates(
            events_per_s=(stats.events - last[1]) / elapsed if elapsed > 0 else 0.0,
            triggers=stats.triggers - last[2],
            queue_depth=queue_depth,
            reconnects=stats.reconnects - last[3],
            lag_ms=lag_ms,
            feed_delay_ms=feed_delay_ms,
        )
