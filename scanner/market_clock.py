"""The clock of the market our data comes from, and the NYSE session calendar.

Automatic scans and alerts follow NYSE sessions as judged by the data source's own clock: with a
real Polygon key that is the wall clock; with the simulated market it is the simulator's session
clock (``/v1/marketstatus/now`` ``serverTime``), which may run faster than real time or sit in a
session at any wall-clock hour. Asking the simulator on every call would be wasteful, so its answer
is cached and extrapolated at the rate its clock was seen to advance.

The clock source is injectable (``set_clock_source``) so tests and the demo can pin the time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from scanner.polygon.errors import MarketDataError
from scanner.polygon.sessions import last_session_on_or_before, nyse_calendar

logger = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")

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


_source_lock = threading.Lock()
_source: ClockSource | None = None


def set_clock_source(source: ClockSource | None) -> None:
    """Use ``source`` for ``market_now()``; ``None`` goes back to the default for the settings."""
    global _source
    with _source_lock:
        _source = source


def _default_source() -> ClockSource:
    if not settings.MARKET_SIMULATED:
        return wall_clock
    return ServerTimeClock(_provider_server_time)


def _provider_server_time() -> datetime:
    # Imported late: the provider starts the embedded simulated market on first use.
    from scanner.polygon.provider import market_provider

    return market_provider().client.market_status().server_time


def market_now() -> datetime:
    """Now, by the clock of the market the data comes from (UTC, timezone-aware)."""
    global _source
    source = _source
    if source is None:
        with _source_lock:
            if _source is None:
                _source = _default_source()
            source = _source
    return source()


def _timestamp(at: datetime):
    import pandas as pd

    if at.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return pd.Timestamp(at.astimezone(UTC))


def is_session_open(at: datetime) -> bool:
    """True while NYSE trades at ``at`` (holidays and early closes respected; the close is excluded)."""
    return bool(nyse_calendar().is_open_on_minute(_timestamp(at), ignore_breaks=True))


def trading_day(at: datetime) -> date:
    """The session ``at`` belongs to: its New York date if that is a session, else the previous session."""
    return last_session_on_or_before(at.astimezone(NEW_YORK).date())


def last_completed_session(at: datetime) -> date:
    """The latest session whose close is at or before ``at``."""
    day = trading_day(at)
    _, close = session_bounds(day)
    if at >= close:
        return day
    return nyse_calendar().previous_session(day).date()


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """Open and close of the session on ``day`` (UTC); ValueError when ``day`` is not a session."""
    import pandas as pd

    calendar = nyse_calendar()
    session = pd.Timestamp(day)
    if not calendar.is_session(session):
        raise ValueError(f"{day.isoformat()} is not an NYSE session")
    return (
        calendar.session_open(session).to_pydatetime(),
        calendar.session_close(session).to_pydatetime(),
    )
