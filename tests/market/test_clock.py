from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from market.clock import (
    is_session_open,
    last_completed_session,
    market_now,
    session_bounds,
    set_clock_source,
    trading_day,
)
from scanner.polygon.errors import TransientError
from scanner.polygon.server_clock import ServerTimeClock


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


class FakeProviderClock:
    """Stands in for the provider's /v1/marketstatus/now; counts the calls."""

    def __init__(self, server_time: datetime) -> None:
        self.server_time = server_time
        self.calls = 0
        self.down = False

    def __call__(self) -> datetime:
        self.calls += 1
        if self.down:
            raise TransientError("simulated market unreachable")
        return self.server_time


def test_regular_session_is_open_and_the_close_minute_is_not():
    # given a normal Tuesday, 9:30-16:00 New York (14:30-21:00 UTC in March after DST)
    # then
    assert is_session_open(utc(2025, 3, 4, 15, 0))
    assert not is_session_open(utc(2025, 3, 4, 14, 29))
    assert not is_session_open(utc(2025, 3, 4, 21, 0))


def test_early_close_after_thanksgiving_is_respected():
    # given Friday 2024-11-29, an early close at 13:00 New York (18:00 UTC)
    # then
    assert is_session_open(utc(2024, 11, 29, 17, 59))
    assert not is_session_open(utc(2024, 11, 29, 18, 30))
    assert session_bounds(date(2024, 11, 29))[1] == utc(2024, 11, 29, 18, 0)


def test_weekend_and_holiday_are_closed_and_map_to_the_previous_session():
    # given Saturday 2024-11-30 and Thanksgiving 2024-11-28
    # then
    assert not is_session_open(utc(2024, 11, 30, 15, 0))
    assert trading_day(utc(2024, 11, 30, 15, 0)) == date(2024, 11, 29)
    assert trading_day(utc(2024, 11, 28, 15, 0)) == date(2024, 11, 27)
    with pytest.raises(ValueError, match="not an NYSE session"):
        session_bounds(date(2024, 11, 28))


def test_trading_day_uses_the_new_york_date():
    # given 01:00 UTC on a Wednesday is still Tuesday evening in New York
    # then
    assert trading_day(utc(2025, 3, 5, 1, 0)) == date(2025, 3, 4)


def test_last_completed_session_is_today_only_after_the_close():
    # then
    assert last_completed_session(utc(2025, 3, 4, 15, 0)) == date(2025, 3, 3)
    assert last_completed_session(utc(2025, 3, 4, 21, 0)) == date(2025, 3, 4)
    assert last_completed_session(utc(2025, 3, 8, 12, 0)) == date(2025, 3, 7)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_session_open(datetime(2025, 3, 4, 15, 0))


def test_server_time_clock_caches_and_extrapolates_at_the_observed_rate():
    # given a simulated market whose clock runs 60x faster than the wall clock
    monotonic = FakeMonotonic()
    provider = FakeProviderClock(utc(2025, 3, 4, 15, 0))
    clock = ServerTimeClock(provider, refresh_seconds=5.0, monotonic=monotonic)
    # when read, then read again within the refresh interval
    first = clock()
    monotonic.value += 2
    cached = clock()
    # then one request served both, extrapolated at the default rate of 1
    assert first == utc(2025, 3, 4, 15, 0)
    assert cached == utc(2025, 3, 4, 15, 0, 2)
    assert provider.calls == 1

    # when the provider's clock advanced 600 s in 10 wall seconds
    monotonic.value += 8
    provider.server_time = utc(2025, 3, 4, 15, 10)
    refreshed = clock()
    monotonic.value += 1
    extrapolated = clock()
    # then the next reads extrapolate at 60 provider seconds per wall second
    assert refreshed == utc(2025, 3, 4, 15, 10)
    assert extrapolated == utc(2025, 3, 4, 15, 11)
    assert provider.calls == 2


def test_server_time_clock_keeps_extrapolating_when_the_provider_fails():
    # given a clock that read the provider once
    monotonic = FakeMonotonic()
    provider = FakeProviderClock(utc(2025, 3, 4, 15, 0))
    clock = ServerTimeClock(provider, refresh_seconds=5.0, monotonic=monotonic)
    clock()
    # when the provider goes down and 6 s pass
    provider.down = True
    monotonic.value += 6
    # then the time is extrapolated from the last answer, and the failing provider is not re-asked at once
    assert clock() == utc(2025, 3, 4, 15, 0, 6)
    monotonic.value += 1
    clock()
    assert provider.calls == 2


def test_server_time_clock_uses_the_wall_clock_before_any_answer():
    # given a provider that never answers
    provider = FakeProviderClock(utc(2025, 3, 4, 15, 0))
    provider.down = True
    clock = ServerTimeClock(provider)
    # when
    before = datetime.now(UTC)
    now = clock()
    # then
    assert before <= now <= datetime.now(UTC)


def test_market_now_uses_the_injected_source():
    # given
    set_clock_source(lambda: utc(2025, 1, 2, 16, 0))
    try:
        # then
        assert market_now() == utc(2025, 1, 2, 16, 0)
    finally:
        set_clock_source(None)
