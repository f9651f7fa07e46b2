"""NYSE sessions (exchange-calendars) and the simulated market clock."""

from __future__ import annotations

import threading
import time
import warnings
from datetime import date, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
PRE_MARKET_START = (4, 0)
AFTER_HOURS_END = (20, 0)
MarketPhase = Literal["open", "extended-hours", "closed"]


@lru_cache(maxsize=1)
def nyse() -> exchange_calendars.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange-calendars 4.13 trips a pandas deprecation warning while building its schedule
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Series.values")
        return exchange_calendars.get_calendar("XNYS")


def _in_bounds(day: date) -> bool:
    calendar = nyse()
    return calendar.first_session.date() <= day <= calendar.last_session.date()


def is_session(day: date) -> bool:
    """Weekdays beyond the calendar's horizon (far LEAP expiries) count as sessions."""
    if _in_bounds(day):
        return bool(nyse().is_session(pd.Timestamp(day)))
    return day.weekday() < 5


def latest_session(on_or_before: date) -> date:
    if not _in_bounds(on_or_before):
        raise ValueError(
            f"{on_or_before} is outside the NYSE calendar "
            f"({nyse().first_session.date()} .. {nyse().last_session.date()})"
        )
    return nyse().date_to_session(pd.Timestamp(on_or_before), direction="previous").date()


def sessions_before(day: date, count: int) -> list[date]:
    """The `count` sessions strictly before `day`, most recent first."""
    sessions = nyse().sessions
    end = int(sessions.searchsorted(pd.Timestamp(day)))
    return [stamp.date() for stamp in sessions[max(0, end - count) : end][::-1]]


def next_session(day: date) -> date:
    """The first session strictly after `day`."""
    if not _in_bounds(day):
        raise ValueError(f"{day} is outside the NYSE calendar")
    return nyse().date_to_session(pd.Timestamp(day) + pd.Timedelta(days=1), direction="next").date()


def sessions_between(first: date, last: date) -> list[date]:
    """The sessions from `first` to `last`, both included, oldest first."""
    sessions = nyse().sessions
    start = int(sessions.searchsorted(pd.Timestamp(first)))
    end = int(sessions.searchsorted(pd.Timestamp(last), side="right"))
    return [stamp.date() for stamp in sessions[start:end]]


def sessions_from(first: date, count: int) -> list[date]:
    """`count` sessions from `first` (a session), oldest first."""
    days = [first]
    while len(days) < count:
        days.append(next_session(days[-1]))
    return days


@lru_cache(maxsize=64)
def session_bounds(day: date) -> tuple[datetime, datetime]:
    """Regular-hours open and close of a session (early closes included), New York time."""
    calendar = nyse()
    label = pd.Timestamp(day)
    opened = calendar.session_open(label).to_pydatetime().astimezone(NEW_YORK)
    closed = calendar.session_close(label).to_pydatetime().astimezone(NEW_YORK)
    return opened, closed


def at_new_york(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def market_phase(at: datetime) -> MarketPhase:
    local = at.astimezone(NEW_YORK)
    day = local.date()
    if not is_session(day) or not _in_bounds(day):
        return "closed"
    opened, closed = session_bounds(day)
    if opened <= local < closed:
        return "open"
    if at_new_york(day, *PRE_MARKET_START) <= local < opened:
        return "extended-hours"
    if closed <= local < at_new_york(day, *AFTER_HOURS_END):
        return "extended-hours"
    return "closed"


class SimClock:
    """Market time running at `speed` x wall time from `start`; speed 0 freezes it (tests).

    Thread-safe: read from the server loop and set from test threads.
    """

    def __init__(self, start: datetime, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._lock = threading.Lock()
        self._anchor_epoch = start.timestamp()
        self._anchor_wall = time.monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def epoch(self) -> float:
        with self._lock:
            return self._anchor_epoch + (time.monotonic() - self._anchor_wall) * self._speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), tz=NEW_YORK)

    def set(self, at: datetime, speed: float | None = None) -> None:
        with self._lock:
            self._anchor_epoch = at.timestamp()
            self._anchor_wall = time.monotonic()
            if speed is not None:
                if speed < 0:
                    raise ValueError("speed must be >= 0")
                self._speed = float(speed)

    def advance(self, seconds: float) -> None:
        self.set(datetime.fromtimestamp(self.epoch() + seconds, tz=NEW_YORK))
