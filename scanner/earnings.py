"""Earnings dates: the vendor's, beside the imported and admin ones, and what a trader is told.

``refresh_earnings`` asks the vendor (Benzinga partner data) for the dates of some tickers from today
to ``WINDOW_DAYS`` ahead by the market's clock and merges them: a vendor row is created or refreshed;
a row from an import or the admin on the same date keeps its source and expected move and gains the
vendor's time of day and status; a vendor row the vendor no longer lists (the date moved) is removed;
rows of other sources are never removed. Each ticker records whether the vendor answered, so a plan
without earnings data (403) falls back to the imported and admin rows, and a ticker nobody knows
about reads **unknown**, never "no earnings".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.validators import normalize_ticker, validate_ticker
from forwardfactor.runtime import market_provider
from market.calendar import session_after
from market.clock import market_now
from scanner.engine.scan import EarningsInput
from scanner.engine.timing import trading_date
from scanner.models import EarningsEvent, Ticker
from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import MarketDataError, NotEntitledError
from scanner.polygon.market_types import EarningsDate, TimeOfDay

logger = logging.getLogger(__name__)

WINDOW_DAYS = 120
# The beat refreshes on weekdays: an answer older than a long weekend no longer says "none listed".
ANSWER_KEEPS = timedelta(days=4)
VENDOR_ANSWERED, NOT_ENTITLED = "vendor", "not_entitled"


@dataclass(frozen=True)
class EarningsRefresh:
    tickers: int
    answered: bool  # False: the plan lacks earnings data (403 NOT_AUTHORIZED)
    created: int = 0
    updated: int = 0
    removed: int = 0
    requests: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def refresh_earnings(tickers: Iterable[str], client: PolygonClient | None = None) -> EarningsRefresh:
    """Store the vendor's earnings dates of ``tickers`` for today .. today + WINDOW_DAYS (New York).
    Transient market-data errors are raised (the caller retries); a 403 is recorded per ticker."""
    symbols = _valid(tickers)
    if not symbols:
        return EarningsRefresh(0, True)
    client = (client or market_provider().client).counting()
    checked_at = market_now()
    today = trading_date(checked_at)
    until = today + timedelta(days=WINDOW_DAYS)
    try:
        rows = client.earnings(symbols, today, until)
    except NotEntitledError as exc:
        logger.warning("earnings of %d tickers: %s", len(symbols), exc)
        _record_answer(symbols, NOT_ENTITLED, checked_at)
        return EarningsRefresh(len(symbols), False, requests=client.requests_made)
    with transaction.atomic():
        created, updated, removed = _merge(symbols, rows, today, until)
        _record_answer(symbols, VENDOR_ANSWERED, checked_at)
    return EarningsRefresh(len(symbols), True, created, updated, removed, client.requests_made)


def check_first_seen(ticker: str) -> int:
    """Ask the vendor once about a ticker it was never asked about (one request); the requests used.
    A failure only leaves the dates unknown: the scan goes on and the next one asks again."""
    if Ticker.objects.filter(symbol=ticker, earnings_checked_at__isnull=False).exists():
        return 0
    client = market_provider().client.counting()
    try:
        refresh_earnings([ticker], client)
    except MarketDataError as exc:
        logger.warning("earnings of %s not checked: %s", ticker, exc)
    return client.requests_made


def engine_earnings(ticker: str, as_of: datetime) -> list[EarningsInput]:
    """The ticker's known events still ahead at ``as_of``, dated by the session whose prices carry the
    news: a report after the close moves the next session."""
    today = trading_date(as_of)
    events = EarningsEvent.objects.filter(ticker=ticker, date__gte=today).order_by("date")
    inputs = [EarningsInput(_moving_session(event), event.expected_move) for event in events]
    return [event for event in inputs if event.date > today]


def _moving_session(event: EarningsEvent) -> date:
    if event.time_of_day == EarningsEvent.TimeOfDay.AFTER_CLOSE:
        return session_after(event.date)
    return event.date


# --- what a trader is told ----------------------------------------------------------------------


class EarningsState(StrEnum):
    KNOWN = "known"  # one or more dates ahead
    NONE_LISTED = "none_listed"  # the vendor answered recently and lists nothing in its window
    UNKNOWN = "unknown"  # nobody knows: never shown as "no earnings"


@dataclass(frozen=True)
class KnownEarnings:
    date: date
    time_of_day: str  # an EarningsEvent.TimeOfDay value
    status: str  # confirmed | projected | "" (not stated)
    source: str  # vendor | admin | an import's label
    expected_move: float | None

    def describe(self) -> str:
        when = EarningsEvent.TimeOfDay(self.time_of_day).label
        status = EarningsEvent.Status(self.status).label if self.status else "status not stated"
        return f"{self.date.isoformat()} {when} ({status}; {self.source or 'no source'})"


@dataclass(frozen=True)
class EarningsStatus:
    ticker: str
    state: EarningsState
    events: tuple[KnownEarnings, ...] = ()
    listed_through: date | None = None  # NONE_LISTED: the end of the vendor's window
    reason: str = ""  # UNKNOWN: why

    def describe(self) -> str:
        """One line for an email or a page."""
        if self.state == EarningsState.KNOWN:
            return "Earnings " + "; ".join(event.describe() for event in self.events)
        if self.state == EarningsState.NONE_LISTED:
            return f"No earnings date listed through {self.listed_through} (vendor)"
        return f"Earnings date unknown ({self.reason})"


def earnings_for(ticker: str, at: datetime | None = None) -> EarningsStatus:
    """What is known of ``ticker``'s next earnings at ``at`` (default: the market's now)."""
    ticker = normalize_ticker(ticker)
    at = at or market_now()
    today = trading_date(at)
    events = tuple(
        KnownEarnings(event.date, event.time_of_day, event.status, event.source, event.expected_move)
        for event in EarningsEvent.objects.filter(ticker=ticker, date__gte=today).order_by("date")
    )
    if events:
        return EarningsStatus(ticker, EarningsState.KNOWN, events)
    seen = Ticker.objects.filter(symbol=ticker).values_list("earnings_checked_at", "earnings_answer").first()
    checked_at, answer = seen or (None, "")
    if checked_at is None:
        return EarningsStatus(ticker, EarningsState.UNKNOWN, reason="not checked with the vendor yet")
    if answer == NOT_ENTITLED:
        return EarningsStatus(ticker, EarningsState.UNKNOWN, reason="the market-data plan has no earnings dates")
    if at - checked_at > ANSWER_KEEPS:
        return EarningsStatus(ticker, EarningsState.UNKNOWN, reason=f"last checked {trading_date(checked_at)}")
    listed_through = trading_date(checked_at) + timedelta(days=WINDOW_DAYS)
    return EarningsStatus(ticker, EarningsState.NONE_LISTED, listed_through=listed_through)


# --- storage ------------------------------------------------------------------------------------


def _valid(tickers: Iterable[str]) -> list[str]:
    symbols = set()
    for raw in tickers:
        symbol = normalize_ticker(raw)
        try:
            validate_ticker(symbol)
        except ValidationError:
            logger.warning("earnings: %r is not a ticker; skipped", raw)
            continue
        symbols.add(symbol)
    return sorted(symbols)


def _merge(symbols: list[str], rows: list[EarningsDate], first: date, last: date) -> tuple[int, int, int]:
    stored = {
        (event.ticker, event.date): event
        for event in EarningsEvent.objects.select_for_update().filter(
            ticker__in=symbols, date__gte=first, date__lte=last
        )
    }
    new, changed = [], []
    for row in rows:
        status = EarningsEvent.Status.CONFIRMED if row.confirmed else EarningsEvent.Status.PROJECTED
        event = stored.get((row.ticker, row.date))
        if event is None:
            new.append(
                EarningsEvent(
                    ticker=row.ticker,
                    date=row.date,
                    time_of_day=row.time_of_day.value,
                    status=status,
                    source=EarningsEvent.VENDOR,
                )
            )
            continue
        # The vendor's word on when and how sure; an imported row keeps its source and expected move,
        # and a time of day someone entered is not replaced by the vendor's "unknown".
        time_of_day = event.time_of_day if row.time_of_day == TimeOfDay.UNKNOWN else row.time_of_day.value
        if (event.time_of_day, event.status) != (time_of_day, status):
            event.time_of_day, event.status = time_of_day, status
            changed.append(event)
    listed = {(row.ticker, row.date) for row in rows}
    gone = [event.pk for key, event in stored.items() if event.source == EarningsEvent.VENDOR and key not in listed]
    EarningsEvent.objects.filter(pk__in=gone).delete()
    EarningsEvent.objects.bulk_update(changed, ["time_of_day", "status"])
    # An import or another refresh may have stored the same date meanwhile: theirs keeps its source.
    EarningsEvent.objects.bulk_create(
        new, update_conflicts=True, unique_fields=["ticker", "date"], update_fields=["time_of_day", "status"]
    )
    return len(new), len(changed), len(gone)


def _record_answer(symbols: list[str], answer: str, checked_at: datetime) -> None:
    Ticker.objects.bulk_create(
        [Ticker(symbol=symbol, earnings_checked_at=checked_at, earnings_answer=answer) for symbol in symbols],
        update_conflicts=True,
        unique_fields=["symbol"],
        update_fields=["earnings_checked_at", "earnings_answer"],
    )
