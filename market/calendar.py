"""NYSE trading sessions, for endpoints that only have data on session days (grouped daily)."""

from __future__ import annotations

import functools
import warnings
from datetime import date, timedelta

import exchange_calendars
import pandas as pd


@functools.cache
def nyse_calendar() -> exchange_calendars.ExchangeCalendar:
    """The process's one NYSE calendar (building it costs a noticeable fraction of a second)."""
    # exchange-calendars trips pandas deprecation warnings while building; they are not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calendar = exchange_calendars.get_calendar("XNYS")
        calendar.is_open_on_minute(calendar.first_minute)  # builds the lazy minute tables here
    return calendar


def last_session_on_or_before(day: date) -> date:
    """The NYSE session on ``day`` or, on a weekend or holiday, the one before it."""
    calendar = nyse_calendar()
    stamp = pd.Timestamp(day)
    if calendar.first_session <= stamp <= calendar.last_session:
        return calendar.date_to_session(stamp, direction="previous").date()
    # Outside the calendar's range: weekdays are the best we know.
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def session_before(day: date) -> date:
    """The last NYSE session strictly before ``day``."""
    return last_session_on_or_before(day - timedelta(days=1))


def session_after(day: date) -> date:
    """The first NYSE session strictly after ``day``."""
    calendar = nyse_calendar()
    stamp = pd.Timestamp(day + timedelta(days=1))
    if calendar.first_session <= stamp <= calendar.last_session:
        return calendar.date_to_session(stamp, direction="next").date()
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
