"""An in-memory market for service tests: grouped daily bars per session and a set of optionable names.

It answers like the REST client does: a weekend or holiday gives the last session on or before it,
and a session without bars (not published yet) gives the one before, up to three sessions back.
The service tests run without HTTP this way; the simulator-backed tests cover the real client.
"""

from __future__ import annotations

import math
from datetime import date

from market.calendar import last_session_on_or_before, session_before
from scanner.polygon.market_types import DailyBar, GroupedDaily


def bar(ticker: str, close: float, volume: float, vwap: float = math.nan) -> DailyBar:
    return DailyBar(ticker=ticker, open=close, high=close, low=close, close=close, volume=volume, vwap=vwap, trades=1)


class InMemoryMarket:
    def __init__(self, sessions: dict[date, list[DailyBar]], optionable: set[str]) -> None:
        self.sessions = sessions
        self.optionable = optionable
        self.options_checks: list[str] = []

    def grouped_daily(self, day: date) -> GroupedDaily:
        first = session = last_session_on_or_before(day)
        for _ in range(3):
            if self.sessions.get(session):
                return GroupedDaily(session=session, requested=day, bars=tuple(self.sessions[session]))
            session = session_before(session)
        return GroupedDaily(session=first, requested=day, bars=())

    def has_listed_options(self, ticker: str) -> bool:
        self.options_checks.append(ticker)
        return ticker in self.optionable
