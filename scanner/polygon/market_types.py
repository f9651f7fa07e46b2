"""Our own types for the vendor's non-chain answers (grouped daily, market status, underlying quote,
a few contracts' quotes, earnings dates), and the functions that read them out of the vendor's JSON. Every optional field may
be missing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from scanner.polygon.errors import MalformedResponseError


@dataclass(frozen=True)
class DailyBar:
    ticker: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float  # NaN when absent
    trades: int  # 0 when absent

    @property
    def dollar_volume(self) -> float:
        price = self.vwap if math.isfinite(self.vwap) else self.close
        return price * self.volume


@dataclass(frozen=True)
class GroupedDaily:
    """Every US stock's bar for one session; ``session`` is the date actually served (the last NYSE
    session on or before the date asked for)."""

    session: date
    requested: date
    bars: tuple[DailyBar, ...]


@dataclass(frozen=True)
class MarketStatus:
    """The provider's clock and whether the market is open (``market`` is open/closed/extended-hours)."""

    market: str
    server_time: datetime
    early_hours: bool
    after_hours: bool


@dataclass(frozen=True)
class UnderlyingQuote:
    """The underlying's price as seen by the option snapshot and the snapshot's own time."""

    ticker: str
    price: float  # NaN when the plan does not include the underlying
    as_of: datetime


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def daily_bars(rows: list) -> tuple[DailyBar, ...]:
    """Grouped-daily rows ``{T, o, h, l, c, v, vw?, n?}``; rows without a ticker or a close are skipped."""
    bars = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        ticker = row.get("T")
        close = _number(row.get("c"))
        if not isinstance(ticker, str) or not ticker or not math.isfinite(close):
            continue
        volume = _number(row.get("v"))
        trades = _number(row.get("n"))
        bars.append(
            DailyBar(
                ticker=ticker,
                open=_number(row.get("o")),
                high=_number(row.get("h")),
                low=_number(row.get("l")),
                close=close,
                volume=volume if math.isfinite(volume) else 0.0,
                vwap=_number(row.get("vw")),
                trades=int(trades) if math.isfinite(trades) else 0,
            )
        )
    return tuple(bars)


def market_status(payload: dict) -> MarketStatus:
    raw_time = payload.get("serverTime")
    try:
        server_time = datetime.fromisoformat(str(raw_time))
    except ValueError:
        raise MalformedResponseError(f"market status has no readable serverTime ({str(raw_time)[:40]!r})") from None
    if server_time.tzinfo is None:
        raise MalformedResponseError(f"market status serverTime {raw_time!r} has no UTC offset")
    return MarketStatus(
        market=str(payload.get("market") or "unknown"),
        server_time=server_time.astimezone(UTC),
        early_hours=bool(payload.get("earlyHours")),
        after_hours=bool(payload.get("afterHours")),
    )


def _ns_to_datetime(value: object) -> datetime | None:
    number = _number(value)
    if not math.isfinite(number) or number <= 0:
        return None
    return datetime.fromtimestamp(number / 1e9, tz=UTC)


def underlying_quote(ticker: str, results: list, fallback_time: datetime) -> UnderlyingQuote:
    """Price and newest timestamp from option snapshot rows; ``fallback_time`` (the server's Date
    header) when no row carries a timestamp."""
    price = math.nan
    newest: datetime | None = None
    for row in results:
        if not isinstance(row, dict):
            continue
        asset = row.get("underlying_asset") or {}
        quote = row.get("last_quote") or {}
        if isinstance(asset, dict) and math.isnan(price):
            candidate = _number(asset.get("price"))
            if math.isfinite(candidate) and candidate > 0:
                price = candidate
        for stamp in (
            _ns_to_datetime(asset.get("last_updated")) if isinstance(asset, dict) else None,
            _ns_to_datetime(quote.get("last_updated")) if isinstance(quote, dict) else None,
        ):
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
    return UnderlyingQuote(ticker=ticker, price=price, as_of=newest or fallback_time)


@dataclass(frozen=True)
class ContractQuote:
    """One option contract's bid and ask, as a filtered chain snapshot quotes it (marking positions)."""

    contract_type: str  # "call" or "put"
    expiry: date
    strike: float
    bid: float
    ask: float
    quoted_at: datetime | None  # the quote's last_updated, None when the vendor gives none

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


def contract_quotes(results: list) -> list[ContractQuote]:
    """The usable quotes among snapshot rows. A row without its contract's identity, or whose quote is
    missing, not positive or crossed, is left out, exactly as the chain parser drops it for a scan: the
    caller counts that contract as not quoted."""
    quotes = []
    for row in results:
        details = row.get("details") if isinstance(row, dict) else None
        quote = row.get("last_quote") if isinstance(row, dict) else None
        if not isinstance(details, dict) or not isinstance(quote, dict):
            continue
        kind = details.get("contract_type")
        strike = _number(details.get("strike_price"))
        bid, ask = _number(quote.get("bid")), _number(quote.get("ask"))
        if kind not in ("call", "put") or not strike > 0 or not 0 < bid <= ask < math.inf:
            continue
        if details.get("shares_per_contract") not in (None, 100):
            continue
        try:
            expiry = date.fromisoformat(details.get("expiration_date"))
        except (TypeError, ValueError):
            continue
        quotes.append(ContractQuote(kind, expiry, strike, bid, ask, _ns_to_datetime(quote.get("last_updated"))))
    return quotes


class TimeOfDay(StrEnum):
    """When a company reports, against the NYSE session of the report's date (New York time)."""

    BEFORE_OPEN = "before_open"
    DURING = "during_session"
    AFTER_CLOSE = "after_close"
    UNKNOWN = "unknown"


SESSION_OPENS = time(9, 30)
SESSION_CLOSES = time(16, 0)


@dataclass(frozen=True)
class EarningsDate:
    """One earnings report the vendor lists: its date, when in the day, and whether the company has
    confirmed the date (otherwise the vendor projects it)."""

    ticker: str
    date: date
    time_of_day: TimeOfDay
    confirmed: bool


def time_of_day(raw: object) -> TimeOfDay:
    """The vendor's ``time`` (HH:MM:SS, New York) against the session: before 09:30 is before the
    open, from 16:00 after the close. Midnight is read as "not given": no company reports then."""
    if not isinstance(raw, str):
        return TimeOfDay.UNKNOWN
    try:
        at = time.fromisoformat(raw.strip()).replace(tzinfo=None)
    except ValueError:
        return TimeOfDay.UNKNOWN
    if at == time(0, 0):
        return TimeOfDay.UNKNOWN
    if at < SESSION_OPENS:
        return TimeOfDay.BEFORE_OPEN
    if at >= SESSION_CLOSES:
        return TimeOfDay.AFTER_CLOSE
    return TimeOfDay.DURING


def earnings_dates(rows: list) -> list[EarningsDate]:
    """Earnings rows ``{ticker, date, time?, date_status?, ...}``; rows without a ticker or a readable
    date are skipped. A ``date_status`` other than ``confirmed`` counts as projected."""
    found = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        ticker, raw_date = row.get("ticker"), row.get("date")
        if not isinstance(ticker, str) or not ticker.strip() or not isinstance(raw_date, str):
            continue
        try:
            day = date.fromisoformat(raw_date.strip())
        except ValueError:
            continue
        found.append(
            EarningsDate(
                ticker=ticker.strip().upper(),
                date=day,
                time_of_day=time_of_day(row.get("time")),
                confirmed=row.get("date_status") == "confirmed",
            )
        )
    return found


def underlying_tickers(rows: list) -> set[str]:
    """The distinct ``underlying_ticker`` values of option-contract reference rows
    (``/v3/reference/options/contracts``); rows without one are skipped."""
    found = set()
    for row in rows:
        ticker = row.get("underlying_ticker") if isinstance(row, dict) else None
        if isinstance(ticker, str) and ticker.strip():
            found.add(ticker.strip().upper())
    return found


def last_prices(tickers: list) -> dict[str, float]:
    """Each stock's last trade price from the full-market snapshot's ``tickers`` (the day's close so
    far, then the previous close, when no trade is given); entries without a positive price are skipped."""
    prices = {}
    for entry in tickers:
        if not isinstance(entry, dict) or not isinstance(entry.get("ticker"), str):
            continue
        for part, field in (("lastTrade", "p"), ("day", "c"), ("prevDay", "c")):
            section = entry.get(part)
            price = _number(section.get(field)) if isinstance(section, dict) else math.nan
            if math.isfinite(price) and price > 0:
                prices[entry["ticker"].strip().upper()] = price
                break
    return prices
