"""The market's own clock as the data source tells it: the wall clock for the vendor, the simulator's
session clock (``/v1/marketstatus/now`` ``serverTime``) for a simulated market."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from scanner.polygon.errors import MarketDataError

logger = logging.getLogger(__name__)

ClockSource = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class ServerTimeClock:
    """Market time read from the provider's clock (``/v1/marketstatus/now``), cached and extrapolated.

    Between refreshes the time is extrapolated from the last answer at the observed rate
    (provider seconds per wall second, measured between the last two answers; 1.0 until then).
    When the provider cannot be reached, the last extrapolation is used; with no answer at all,
    the wall clock.
    """

    def __init__(
        self,
        fetch_server_time: Callable[[], datetime],
        refresh_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch_server_time
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._anchor: tuple[float, datetime] | None = None
        self._rate = 1.0
        self._next_refresh = float("-inf")

    def __call__(self) -> datetime:
        with self._lock:
            now_mono = self._monotonic()
            if now_mono >= self._next_refresh:
                self._next_refresh = now_mono + self._refresh_seconds
                self._refresh(now_mono)
            if self._anchor is None:
                return wall_clock()
            anchor_mono, anchor_time = self._anchor
            return anchor_time + timedelta(seconds=(now_mono - anchor_mono) * self._rate)

    def _refresh(self, now_mono: float) -> None:
        try:
            server_time = self._fetch().astimezone(UTC)
        except MarketDataError as exc:
            # Keep extrapolating from the last good answer; try again after the refresh interval.
            logger.warning("market clock: provider time unavailable (%s)", exc)
            return
        if self._anchor is not None:
            wall_elapsed = now_mono - self._anchor[0]
            server_elapsed = (server_time - self._anchor[1]).total_seconds()
            if wall_elapsed > 0.5 and server_elapsed >= 0:
                self._rate = server_elapsed / wall_elapsed
        self._anchor = (now_mono, server_time)
