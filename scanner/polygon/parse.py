"""Polygon's options chain snapshot pages -> our OptionChain.

Pure (stdlib + numpy): the caller decodes the bytes (orjson) and hands over the page dicts. Every
optional vendor field may be missing; rows the engine cannot trust are dropped and counted by reason
in ``OptionChain.dropped``. Never reads last trade or day close: only the bid/ask quote is priced.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
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


def _number(value: object) -> float:
    """A finite float from a JSON number; NaN for anything else (absent, string, bool, inf)."""
    if type(value) is float:
        return value if -_INF < value < _INF else _NAN
    if type(value) is int:
        return float(value)
    return _NAN


def parse_snapshot_pages(
    pages: Iterable[dict] | dict,
    ticker: str | None = None,
    underlying_price: float | None = None,
    as_of: datetime | None = None,
) -> OptionChain:
    """Build the chain from one page or an iterable of pages.

    ticker: defaults to the snapshot's underlying_asset.ticker, else the contract tickers' root.
    underlying_price: used only when the snapshot carries no underlying_asset.price (plans without
        stocks data); the snapshot's own price is coherent with its quotes, so it wins.
    as_of: defaults to the snapshot's own timestamp, the newest quote or underlying ``last_updated``.
    Raises SnapshotError (a ValueError and a MalformedResponseError) for a page that is not an
    object, no timestamp at all, or no underlying price anywhere (MissingUnderlyingPriceError).
    """
    if isinstance(pages, dict):
        pages = [pages]
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
    seen: set[tuple[int, float, bool]] = set()
    expiry_cache: dict[str, int | None] = {}
    newest_ns = 0
    snapshot_price = _NAN
    snapshot_price_ns = -1
    snapshot_ticker: str | None = None
    contract_ticker: str | None = None

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    for number, page in enumerate(pages, start=1):
        if not isinstance(page, dict):
            raise SnapshotError(f"snapshot page {number} is not a JSON object")
        results = page.get("results")
        if results is None:
            continue
        if not isinstance(results, list):
            raise SnapshotError(f"snapshot page {number}: 'results' is not a list")
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
                    try:
                        expiry = date.fromisoformat(expiry_text).toordinal() - _EPOCH_ORDINAL
                    except ValueError:
                        expiry = None
                    expiry_cache[expiry_text] = expiry
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
                iv = _number(row.get("implied_volatility"))
                delta = _number(greeks.get("delta")) if greeks else _NAN
                oi = _number(row.get("open_interest"))
                volume = _number(day.get("volume")) if day else _NAN
                key = (expiry, strike, is_call)
                if key in seen:
                    drop("duplicate")
                    continue
                seen.add(key)
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

    if as_of is None:
        if not seen and not dropped:
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

    expiry = np.array(expiry_days, dtype=np.int64).view("datetime64[D]")
    live = years_to_expiry(expiry, as_of) > 0 if expiry.size else np.zeros(0, dtype=bool)
    expired = int(live.size - np.count_nonzero(live))
    if expired:
        dropped["expired"] = dropped.get("expired", 0) + expired

    def column(values: list, dtype: type) -> np.ndarray:
        array = np.array(values, dtype=dtype)
        return array if not expired else array[live]

    return OptionChain(
        ticker=name.upper(),
        underlying_price=float(snapshot_price),
        as_of=as_of,
        expiry=expiry if not expired else expiry[live],
        strike=column(strikes, np.float64),
        is_call=column(calls, np.bool_),
        bid=column(bids, np.float64),
        ask=column(asks, np.float64),
        vendor_iv=column(ivs, np.float64),
        vendor_delta=column(deltas, np.float64),
        open_interest=column(open_interest, np.float64),
        volume=column(volumes, np.float64),
        quote_time_ns=column(quote_times, np.int64),
        dropped=dropped,
    )


def _root_of(contract_ticker: str | None) -> str | None:
    """'O:AAPL230616C00150000' -> 'AAPL' (root, then yymmdd, C/P and an 8-digit strike)."""
    if not contract_ticker or len(contract_ticker) <= 17:
        return None
    return contract_ticker.removeprefix("O:")[:-15] or None
