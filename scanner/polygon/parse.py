"""Polygon's options chain snapshot pages -> our OptionChain.

Pure (stdlib + numpy). Two steps: each page becomes its ``PageColumns`` (the rows the engine can
use, in page order, and what the page says about the snapshot's time and price), then
``chain_from_columns`` joins the pages (a contract repeated on a later page is a duplicate, the
newest underlying price wins) and drops what expired. ``page_columns`` reads an already decoded
page dict; ``scanner.polygon.decode`` builds the same ``PageColumns`` straight from the response
bytes. Every optional vendor field may be missing; rows the engine cannot trust are dropped and
counted by reason in ``OptionChain.dropped``. Never reads last trade or day close: only the bid/ask
quote is priced.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np

from scanner.engine.chain import OptionChain
from scanner.engine.timing import utc_from_ns, years_to_expiry

from .errors import MalformedResponseError

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAN = math.nan
_INF = math.inf
_NUMBER = (int, float)


class SnapshotError(MalformedResponseError, ValueError):
    """The snapshot cannot become a chain at all (wrong shape, no timestamp)."""


class MissingUnderlyingPriceError(SnapshotError):
    """Neither the snapshot (underlying_asset.price) nor the caller gave the underlying price."""


@dataclass(frozen=True)
class PageColumns:
    """One page's usable contracts, in page order, before the cross-page duplicate check and the
    expiry cut; and what the page says about the snapshot as a whole.

    expiry_day is days since 1970-01-01; the other columns are as in ``OptionChain``.
    rows: every row of ``results`` (used or dropped). newest_ns: the newest quote or underlying
    ``last_updated`` (0: none). price/price_ns: the underlying price with the newest stamp on the
    page (NaN/-1: none; on equal stamps the later row). underlying_ticker/contract_ticker: the
    page's first ones (None: none).
    """

    expiry_day: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    vendor_iv: np.ndarray
    vendor_delta: np.ndarray
    open_interest: np.ndarray
    volume: np.ndarray
    quote_time_ns: np.ndarray
    dropped: dict[str, int]
    rows: int
    newest_ns: int
    price: float
    price_ns: int
    underlying_ticker: str | None
    contract_ticker: str | None

    def select(self, keep: np.ndarray) -> PageColumns:
        """Only the contracts where ``keep`` is true (what the page says of the snapshot stays)."""
        if keep.all():
            return self
        return replace(self, **{name: getattr(self, name)[keep] for name in _CONTRACT_COLUMNS})


_CONTRACT_COLUMNS = (
    "expiry_day",
    "strike",
    "is_call",
    "bid",
    "ask",
    "vendor_iv",
    "vendor_delta",
    "open_interest",
    "volume",
    "quote_time_ns",
)


def _number(value: object) -> float:
    """A finite float from a JSON number; NaN for anything else (absent, string, bool, inf)."""
    if type(value) is float:
        return value if -_INF < value < _INF else _NAN
    if type(value) is int:
        return float(value)
    return _NAN


def expiry_day(text: str) -> int | None:
    """'2025-03-21' -> days since 1970-01-01; None when it is not an ISO date."""
    try:
        return date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None


def parse_snapshot_pages(
    pages: Iterable[dict] | dict,
    ticker: str | None = None,
    underlying_price: float | None = None,
    as_of: datetime | None = None,
) -> OptionChain:
    """Build the chain from one decoded page or an iterable of them (see ``chain_from_columns``).

    Raises SnapshotError (a ValueError and a MalformedResponseError) for a page that is not an
    object or whose 'results' is not a list.
    """
    if isinstance(pages, dict):
        pages = [pages]
    return chain_from_columns(
        (page_columns(page, number) for number, page in enumerate(pages, start=1)), ticker, underlying_price, as_of
    )


def page_columns(page: object, number: int = 1) -> PageColumns:
    """One decoded page (a dict) -> its columns, row by row."""
    if not isinstance(page, dict):
        raise SnapshotError(f"snapshot page {number} is not a JSON object")
    results = page.get("results")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise SnapshotError(f"snapshot page {number}: 'results' is not a list")
    expiry_days: list[int] = []
    strikes: list[float] = []
    calls: list[bool] = []
    bids: list[float] = []
    asks: list[float] = []
    ivs: list[float] = []
    deltas: list[float] = []
    open_interest: list[float] = []
    volumes: list[float] = []
    quote_times: list[int] = []
    dropped: dict[str, int] = {}
    expiry_cache: dict[str, int | None] = {}
    newest_ns = 0
    snapshot_price = _NAN
    snapshot_price_ns = -1
    snapshot_ticker: str | None = None
    contract_ticker: str | None = None

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    for row in results:
        try:
            underlying = row.get("underlying_asset")
            if underlying:
                stamp = underlying.get("last_updated")
                if type(stamp) is int:
                    newest_ns = max(newest_ns, stamp)
                else:
                    stamp = 0
                price = _number(underlying.get("price"))
                if price > 0 and stamp >= snapshot_price_ns:
                    snapshot_price, snapshot_price_ns = price, stamp
                if snapshot_ticker is None and isinstance(underlying.get("ticker"), str):
                    snapshot_ticker = underlying["ticker"]
            quote = row.get("last_quote")
            quote_ns = 0
            if quote:
                stamp = quote.get("last_updated")
                if type(stamp) is int and stamp > 0:
                    quote_ns = stamp
                    newest_ns = max(newest_ns, stamp)
            details = row.get("details")
            if not details:
                drop("missing_details")
                continue
            if contract_ticker is None and isinstance(details.get("ticker"), str):
                contract_ticker = details["ticker"]
            kind = details.get("contract_type")
            if kind == "call":
                is_call = True
            elif kind == "put":
                is_call = False
            else:
                drop("missing_type" if kind is None else "bad_type")
                continue
            expiry_text = details.get("expiration_date")
            if expiry_text is None:
                drop("missing_expiry")
                continue
            expiry = expiry_cache.get(expiry_text, -1) if isinstance(expiry_text, str) else None
            if expiry == -1:
                expiry = expiry_cache[expiry_text] = expiry_day(expiry_text)
            if expiry is None:
                drop("bad_expiry")
                continue
            raw_strike = details.get("strike_price")
            if raw_strike is None:
                drop("missing_strike")
                continue
            strike = _number(raw_strike)
            if not strike > 0:
                drop("bad_strike")
                continue
            shares = details.get("shares_per_contract")
            if shares is not None and shares != 100:
                drop("non_standard_deliverable")
                continue
            if not quote:
                drop("no_quote")
                continue
            raw_bid, raw_ask = quote.get("bid"), quote.get("ask")
            if raw_bid is None or raw_ask is None:
                drop("no_quote")
                continue
            bid, ask = _number(raw_bid), _number(raw_ask)
            if bid != bid or ask != ask:
                drop("nan_quote")
                continue
            if bid <= 0 or ask <= 0:
                drop("nonpositive_quote")
                continue
            if bid > ask:
                drop("crossed_quote")
                continue
            greeks = row.get("greeks")
            day = row.get("day")
            # Read every field before appending any: a bad one drops the row from all columns.
            iv = _number(row.get("implied_volatility"))
            delta = _number(greeks.get("delta")) if greeks else _NAN
            oi = _number(row.get("open_interest"))
            volume = _number(day.get("volume")) if day else _NAN
            expiry_days.append(expiry)
            strikes.append(strike)
            calls.append(is_call)
            bids.append(bid)
            asks.append(ask)
            ivs.append(iv)
            deltas.append(delta)
            open_interest.append(oi)
            volumes.append(volume)
            quote_times.append(quote_ns)
        except (AttributeError, TypeError):
            drop("malformed")

    return PageColumns(
        expiry_day=np.array(expiry_days, dtype=np.int64),
        strike=np.array(strikes, dtype=np.float64),
        is_call=np.array(calls, dtype=np.bool_),
        bid=np.array(bids, dtype=np.float64),
        ask=np.array(asks, dtype=np.float64),
        vendor_iv=np.array(ivs, dtype=np.float64),
        vendor_delta=np.array(deltas, dtype=np.float64),
        open_interest=np.array(open_interest, dtype=np.float64),
        volume=np.array(volumes, dtype=np.float64),
        quote_time_ns=np.array(quote_times, dtype=np.int64),
        dropped=dropped,
        rows=len(results),
        newest_ns=newest_ns,
        price=snapshot_price,
        price_ns=snapshot_price_ns,
        underlying_ticker=snapshot_ticker,
        contract_ticker=contract_ticker,
    )


def chain_from_columns(
    pages: Iterable[PageColumns],
    ticker: str | None = None,
    underlying_price: float | None = None,
    as_of: datetime | None = None,
) -> OptionChain:
    """Join the pages' columns into the chain.

    ticker: defaults to the snapshot's underlying_asset.ticker, else the contract tickers' root.
    underlying_price: used only when the snapshot carries no underlying_asset.price (plans without
        stocks data); the snapshot's own price is coherent with its quotes, so it wins.
    as_of: defaults to the snapshot's own timestamp, the newest quote or underlying ``last_updated``.
    Raises SnapshotError (a ValueError and a MalformedResponseError) for no rows and no as_of, no
    timestamp at all, or no underlying price anywhere (MissingUnderlyingPriceError).
    """
    pages = list(pages)
    dropped: dict[str, int] = {}
    newest_ns = 0
    snapshot_price = _NAN
    snapshot_price_ns = -1
    snapshot_ticker: str | None = None
    contract_ticker: str | None = None
    for page in pages:
        for reason, count in page.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + count
        newest_ns = max(newest_ns, page.newest_ns)
        if page.price > 0 and page.price_ns >= snapshot_price_ns:
            snapshot_price, snapshot_price_ns = page.price, page.price_ns
        if snapshot_ticker is None:
            snapshot_ticker = page.underlying_ticker
        if contract_ticker is None:
            contract_ticker = page.contract_ticker

    columns = {name: _joined(pages, name, dtype) for name, dtype in _COLUMNS}
    expiry = columns.pop("expiry_day")
    # The first of several rows for one contract wins, as the vendor listed them.
    keep = _first_of_each(expiry, columns["strike"], columns["is_call"])
    duplicates = int(keep.size - np.count_nonzero(keep))
    if duplicates:
        dropped["duplicate"] = dropped.get("duplicate", 0) + duplicates

    if as_of is None:
        if not any(page.rows for page in pages):
            raise SnapshotError("snapshot holds no option contracts (no 'results')")
        if newest_ns <= 0:
            raise SnapshotError("snapshot has no quote or underlying timestamp (last_updated); pass as_of")
        as_of = utc_from_ns(newest_ns)
    if not snapshot_price > 0:
        if underlying_price is None or not _number(float(underlying_price)) > 0:
            raise MissingUnderlyingPriceError(
                "snapshot has no underlying_asset.price (the plan may lack stocks data) and no price was given"
            )
        snapshot_price = float(underlying_price)
    name = ticker or snapshot_ticker or _root_of(contract_ticker) or ""

    days = expiry.view("datetime64[D]")
    live = years_to_expiry(days, as_of) > 0 if days.size else np.zeros(0, dtype=bool)
    live &= keep
    expired = int(np.count_nonzero(keep) - np.count_nonzero(live))
    if expired:
        dropped["expired"] = dropped.get("expired", 0) + expired
    if duplicates or expired:
        days = days[live]
        columns = {key: values[live] for key, values in columns.items()}
    return OptionChain(
        ticker=name.upper(),
        underlying_price=float(snapshot_price),
        as_of=as_of,
        expiry=days,
        dropped=dropped,
        **columns,
    )


_COLUMNS = (
    ("expiry_day", np.int64),
    ("strike", np.float64),
    ("is_call", np.bool_),
    ("bid", np.float64),
    ("ask", np.float64),
    ("vendor_iv", np.float64),
    ("vendor_delta", np.float64),
    ("open_interest", np.float64),
    ("volume", np.float64),
    ("quote_time_ns", np.int64),
)


def _joined(pages: list[PageColumns], name: str, dtype: type) -> np.ndarray:
    if len(pages) == 1:
        return getattr(pages[0], name)
    return np.concatenate([getattr(page, name) for page in pages]) if pages else np.zeros(0, dtype=dtype)


def _first_of_each(expiry: np.ndarray, strike: np.ndarray, is_call: np.ndarray) -> np.ndarray:
    """True for the first row of each (expiry, strike, call/put) in row order."""
    keep = np.ones(expiry.size, dtype=bool)
    if expiry.size < 2:
        return keep
    # Expiry and type as one exact integer key: a sort of two keys instead of three.
    kind = 2 * expiry + is_call
    order = np.lexsort((strike, kind))  # stable: equal keys stay in row order
    k, s = kind[order], strike[order]
    repeat = (k[1:] == k[:-1]) & (s[1:] == s[:-1])
    keep[order[1:][repeat]] = False
    return keep


def _root_of(contract_ticker: str | None) -> str | None:
    """'O:AAPL230616C00150000' -> 'AAPL' (root, then yymmdd, C/P and an 8-digit strike)."""
    if not contract_ticker or len(contract_ticker) <= 17:
        return None
    return contract_ticker.removeprefix("O:")[:-15] or None
