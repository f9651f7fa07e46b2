"""The clock of the market our data comes from, and the NYSE session calendar.

Automatic scans and alerts follow NYSE sessions as judged by the data source's own clock: with a
real Polygon key that is the wall clock; with the simulated market it is the simulator's session
clock (``/v1/marketstatus/now`` ``serverTime``), which may run faster than real time or sit in a
session at any wall-clock hour. Asking the simulator on every call would be wasteful, so its answer
is cached and extrapolated at the rate its clock was seen to advance.

The clock source is injectable (``set_clock_source``) so tests and the demo can pin the time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from forwardfactor.runtime import market_provider
from market.calendar import last_session_on_or_before, nyse_calendar
from scanner.polygon.server_clock import ClockSource, wall_clock

NEW_YORK = ZoneInfo("America/New_York")

_source: ClockSource | None = None


def set_clock_source(source: ClockSource | None) -> None:
    """Pin ``market_now()`` to ``source`` (tests); ``None`` goes back to the data source's clock."""
    global _source
    _source = source


def market_now() -> datetime:
    """Now, by the clock of the market the data comes from (UTC, timezone-aware)."""
    source = _source
    if source is not None:
        return source()
    if not settings.MARKET_SIMULATED:
        return wall_clock()
    return market_provider().clock()


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
