"""A chain snapshot page's response bytes -> its ``PageColumns``, with no dict per contract.

Three ways, fastest first; each declines what it cannot read exactly and hands it to the next, so
odd pages cost more and never differ:

1. ``_fastscan`` (C, ``_fastscan.c``, built by ``make install``): a JSON reader specialised for this
   schema fills the columns the engine reads while it checks and skips every other value. It
   declines anything unusual (values of another type than documented, a known key twice, escapes
   or non-ASCII bytes in strings, integers beyond 64 bits, magnitudes near a double's limits,
   invalid JSON). Absent when no C compiler was found at install.
2. msgspec: the bytes into small structs that name only the fields the engine reads, with the
   types the vendor documents; the columns are then cut out of the structs a field at a time.
3. A page the strict types refuse (a string where a number belongs, a list where an object
   belongs, an integer beyond 64 bits...) is decoded again as plain JSON and read row by row by
   ``parse.page_columns``. (One difference remains between 2 and 3, on invalid JSON only: a number
   too large for a double in a field we skip is skipped by msgspec, refused by orjson.)

Ways 1 and 2 end in ``_checked``: every check ``parse.page_columns`` makes row by row, made on whole
columns in the same order, so each dropped row gets the same reason.

Measured on the 40-page, 10,000-contract chain of bench/bench_engine.py (CPU ms on the noisy 2-core
machine, 2026-12-01): the C reader reads the 4.7 MB into columns in about 4.3 and the checks and
join take about 1.3 more; msgspec builds the structs in 9 to 10 (a decoder skipping every field
already takes 2.6 to 4.4), cutting the columns out of them 5 to 6; orjson's dicts 15 to 28 (the
garbage collector walks them); the row-by-row reader about 23. Tried and left: polars ``read_json``
with the schema given, 15.8 just to read; pyarrow's JSON reader, 136; pysimdjson, 3.1 to parse and
about 3.2 more for each field read out of its proxies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

import msgspec
import numpy as np
import orjson

from scanner.engine.chain import OptionChain

from .errors import MalformedResponseError
from .parse import PageColumns, chain_from_columns, expiry_day, page_columns

try:
    from . import _fastscan
except ImportError:  # not built (``make install`` found no C compiler): msgspec reads every page
    _fastscan = None

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Not a day number a parsed date can have (date.min..date.max is about ±1e6 days).
_MISSING_DAY = -(2**40)
_BAD_DAY = -(2**40) + 1
# Integers stay integers (a 100, a volume of 250: small ones are shared objects, none is converted
# to a float on the way); the columns read both alike, as the row reader does.
_NUMBER = int | float | None


# gc=False: these hold no references back, and the collector walking 60,000 small objects per chain
# made decoding a third slower. Fields in the vendor's key order (alphabetical): msgspec looks for
# the next key where the last one was found first. The contract and underlying tickers are not decoded here: ten
# thousand strings a chain for the first one, which a caller that names the ticker never reads
# (``_run_tickers`` reads them from the bytes when it is needed).
class _Details(msgspec.Struct, gc=False):
    contract_type: Literal["call", "put"] | None = None
    expiration_date: str | None = None
    shares_per_contract: _NUMBER = None
    strike_price: _NUMBER = None


class _Quote(msgspec.Struct, gc=False):
    ask: _NUMBER = None
    bid: _NUMBER = None
    last_updated: int | None = None


class _Greeks(msgspec.Struct, gc=False):
    delta: _NUMBER = None


class _Day(msgspec.Struct, gc=False):
    volume: _NUMBER = None


class _Underlying(msgspec.Struct, gc=False):
    last_updated: int | None = None
    price: _NUMBER = None


class _Row(msgspec.Struct, gc=False):
    day: _Day | None = None
    details: _Details | None = None
    greeks: _Greeks | None = None
    implied_volatility: _NUMBER = None
    last_quote: _Quote | None = None
    open_interest: _NUMBER = None
    underlying_asset: _Underlying | None = None


class _Page(msgspec.Struct, gc=False):
    next_url: str | None = None
    results: list[_Row] | None = None


# Only the tickers, any JSON value (the row reader keeps the first string and skips the rest).
class _TickerOf(msgspec.Struct, gc=False):
    ticker: Any = None


class _TickerRow(msgspec.Struct, gc=False):
    details: _TickerOf | None = None
    underlying_asset: _TickerOf | None = None


class _TickerPage(msgspec.Struct, gc=False):
    results: list[_TickerRow] | None = None


# The columns of _fastscan.scan_page, in its order (_fastscan.c names them too).
_F_STRIKE, _F_SHARES, _F_PRICE, _F_BID, _F_ASK, _F_IV, _F_DELTA, _F_OI, _F_VOLUME = range(9)
_I_PRICE_NS, _I_QUOTE_NS, _I_EXPIRY, _I_KIND, _I_DETAILS = range(5)


@dataclass(frozen=True)
class _Scanned:
    """A page as _fastscan read it: float and int columns, one row each, and the distinct expiry
    texts its expiry column indexes (-1: none)."""

    floats: np.ndarray
    ints: np.ndarray
    texts: list[str]


_DECODER = msgspec.json.Decoder(_Page)
_TICKER_DECODER = msgspec.json.Decoder(_TickerPage)
_NO_DETAILS, _NO_QUOTE, _NO_UNDERLYING = _Details(), _Quote(), _Underlying()
_NO_GREEKS, _NO_DAY = _Greeks(), _Day()
_KIND = {"call": 1, "put": 0, None: -1}


@dataclass(frozen=True)
class SnapshotPage:
    """One decoded page of ``/v3/snapshot/options/{underlying}``; ``chain_from_pages`` joins pages.

    next_url: the vendor's cursor to the next page (None: last page; not a str: a malformed answer).
    contracts: rows in ``results``, used or not. expiries: every readable expiration date listed.
    The rows stay as decoded structs until the pages are joined: checking whole columns once per
    chain costs far less than once per 250-row page.
    """

    raw: bytes
    next_url: object
    contracts: int
    expiries: frozenset[date]
    _rows: list[_Row] | None = field(default=None, repr=False)
    _texts: list[str | None] | None = field(default=None, repr=False)  # each row's expiration_date
    _listed: set[str | None] | None = field(default=None, repr=False)  # the distinct ones
    _columns: PageColumns | None = field(default=None, repr=False)
    _scanned: _Scanned | None = field(default=None, repr=False)

    def columns(self) -> PageColumns:
        """This page alone as columns."""
        return self._columns if self._columns is not None else next(_runs([self], tickers=True))


def decode_snapshot_page(raw: bytes) -> SnapshotPage:
    """Raises MalformedResponseError when the bytes are not a JSON object or 'results' is not a list."""
    scanned = _fastscan.scan_page(raw) if _fastscan is not None else None
    if scanned is not None:
        count, floats, ints, texts, cursor = scanned
        return SnapshotPage(
            raw,
            None if cursor is None else orjson.loads(raw[cursor[0] : cursor[1]]),
            count,
            _dates(set(texts)),
            _scanned=_Scanned(
                np.frombuffer(floats, dtype=np.float64).reshape(_fastscan.N_FLOATS, count),
                np.frombuffer(ints, dtype=np.int64).reshape(_fastscan.N_INTS, count),
                texts,
            ),
        )
    try:
        page = _DECODER.decode(raw)
    except msgspec.DecodeError:
        return _decode_slowly(raw)
    rows = page.results or []
    # Each row's expiration date, read once: the page's listed expiries now, the column at the join.
    try:
        texts = [row.details.expiration_date for row in rows]
    except AttributeError:  # a row without details
        texts = [None if row.details is None else row.details.expiration_date for row in rows]
    listed = set(texts)
    return SnapshotPage(raw, page.next_url, len(rows), _dates(listed), _rows=rows, _texts=texts, _listed=listed)


def chain_from_pages(
    pages: Iterable[SnapshotPage],
    ticker: str | None = None,
    underlying_price: float | None = None,
    as_of: datetime | None = None,
) -> OptionChain:
    """The chain of decoded pages, as ``parse.chain_from_columns`` tells (and raises)."""
    return chain_from_columns(_runs(pages, tickers=not ticker), ticker, underlying_price, as_of)


def pages_columns(pages: Iterable[SnapshotPage], tickers: bool = True) -> list[PageColumns]:
    """The pages as columns (consecutive fast pages joined), for a caller that picks rows before the
    join. ``tickers=False``: leave the underlying and contract tickers unread (None), for a caller
    that names the ticker."""
    return list(_runs(pages, tickers))


def _runs(pages: Iterable[SnapshotPage], tickers: bool) -> Iterator[PageColumns]:
    """Consecutive pages read alike (by _fastscan, or by msgspec) as one set of columns (no rule
    cares where a page ends), the others as they are."""
    run: list[SnapshotPage] = []
    for page in pages:
        if run and _way(page) != _way(run[0]):
            yield from _run_columns(run, tickers)
            run = []
        if _way(page):
            run.append(page)
        else:
            yield page.columns()
    yield from _run_columns(run, tickers)


def _way(page: SnapshotPage) -> str | None:
    return "scanned" if page._scanned is not None else "structs" if page._rows is not None else None


def _run_columns(run: list[SnapshotPage], tickers: bool) -> Iterator[PageColumns]:
    if not run:
        return
    if run[0]._scanned is not None:
        columns = _scanned_columns([page._scanned for page in run])
    else:
        rows = run[0]._rows if len(run) == 1 else [row for page in run for row in page._rows]
        try:
            columns = _columns(rows, _expiry_column(run))
        except OverflowError:  # an integer beyond 64 bits where the row reader refuses it too
            columns = None
    if columns is None:
        yield from (_decode_slowly(page.raw).columns() for page in run)
    elif tickers:
        yield replace(columns, **_run_tickers(run))
    else:
        yield columns


def _scanned_columns(run: list[_Scanned]) -> PageColumns:
    """The columns of pages _fastscan read: already one array per field, with NaN (numbers), 0
    (stamps) and -1 (expiry, type) standing for absent values, as the checks below read them."""
    if not any(page.ints.shape[1] for page in run):
        return page_columns({})
    floats = run[0].floats if len(run) == 1 else np.concatenate([page.floats for page in run], axis=1)
    ints = run[0].ints if len(run) == 1 else np.concatenate([page.ints for page in run], axis=1)
    codes = {text: _expiry_code(text) for page in run for text in page.texts}
    # Each page's expiry indexes through its own texts; the appended code is index -1's (none).
    expiry = [np.array([codes[text] for text in page.texts] + [_MISSING_DAY])[page.ints[_I_EXPIRY]] for page in run]
    return _checked(
        expiry=expiry[0] if len(run) == 1 else np.concatenate(expiry),
        no_details=ints[_I_DETAILS] == 0,
        kind=ints[_I_KIND],
        strike=floats[_F_STRIKE],
        share=floats[_F_SHARES],
        price=floats[_F_PRICE],
        price_stamp=ints[_I_PRICE_NS],
        bid=floats[_F_BID],
        ask=floats[_F_ASK],
        quote_ns=ints[_I_QUOTE_NS],
        iv=floats[_F_IV],
        delta=floats[_F_DELTA],
        open_interest=floats[_F_OI],
        volume=floats[_F_VOLUME],
    )


def _expiry_column(run: list[SnapshotPage]) -> np.ndarray:
    """Each row's expiry as a day number (or _MISSING_DAY, _BAD_DAY). A page of one expiry, the rule
    when expiries list more contracts than a page holds, is filled without reading its rows again."""
    codes = {text: _expiry_code(text) for page in run for text in page._listed}
    parts = [
        np.full(page.contracts, codes[next(iter(page._listed))], dtype=np.int64)
        if len(page._listed) == 1
        else np.fromiter(map(codes.__getitem__, page._texts), dtype=np.int64, count=page.contracts)
        for page in run
    ]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _run_tickers(run: list[SnapshotPage]) -> dict[str, str | None]:
    """The run's first underlying and contract tickers (strings only, as the row reader takes them),
    read again from the bytes: most callers name the ticker and never need them."""
    found: dict[str, str | None] = {"underlying_ticker": None, "contract_ticker": None}
    for page in run:
        for row in _TICKER_DECODER.decode(page.raw).results or []:
            for name, part in (("underlying_ticker", row.underlying_asset), ("contract_ticker", row.details)):
                if found[name] is None and part is not None and isinstance(part.ticker, str):
                    found[name] = part.ticker
            if None not in found.values():
                return found
    return found


def _decode_slowly(raw: bytes) -> SnapshotPage:
    """Plain JSON, then the row-by-row reader: for the pages the strict types refuse."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponseError(f"the answer is not valid JSON ({len(raw)} bytes: {exc})") from None
    if not isinstance(payload, dict):
        raise MalformedResponseError("the answer is JSON but not an object")
    results = payload.get("results")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise MalformedResponseError("the answer's results is not a list")
    return SnapshotPage(
        raw, payload.get("next_url"), len(results), listed_expiries(results), _columns=page_columns(payload)
    )


def listed_expiries(results: list) -> frozenset[date]:
    """Every readable ``details.expiration_date`` of decoded rows, whether the row is usable or not."""
    texts = set()
    for row in results:
        details = row.get("details") if isinstance(row, dict) else None
        raw = details.get("expiration_date") if isinstance(details, dict) else None
        if isinstance(raw, str):
            texts.add(raw)
    return _dates(texts)


def _dates(texts: set) -> frozenset[date]:
    days = (expiry_day(text) for text in texts if text is not None)
    return frozenset(date.fromordinal(_EPOCH_ORDINAL + day) for day in days if day is not None)


def _floats(values: list) -> np.ndarray:
    """Numbers, NaN for absent ones (the decoder lets no NaN or infinity through: NaN means absent).
    ``fromiter`` is the fastest reader of a list of numbers; numpy's reading of None as NaN is slow,
    so a field absent from every row (a plan without greeks or IVs) is spotted first: counting None
    is quick (identity)."""
    if values and values[0] is None and values.count(None) == len(values):
        return np.full(len(values), np.nan)
    try:
        return np.fromiter(values, dtype=np.float64, count=len(values))
    except TypeError:
        return np.array(values, dtype=np.float64)


def _ints(values: list) -> np.ndarray:
    """Integer stamps, 0 for absent ones (OverflowError beyond 64 bits)."""
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except TypeError:
        return np.array([0 if value is None else value for value in values], dtype=np.int64)


def _filled(values: list, empty: msgspec.Struct) -> list:
    return [empty if value is None else value for value in values]


def _same(values: list) -> list:
    """``values`` itself, or its first item alone when every item is that one (one underlying price
    and stamp on every row of a snapshot is the rule): the rules that read it give the same answer."""
    if values and values[-1] == values[0] and values.count(values[0]) == len(values):
        return values[:1]
    return values


def _columns(rows: list[_Row], expiry: np.ndarray) -> PageColumns | None:
    """The rows' columns (``expiry``: theirs, from ``_expiry_column``), or None when only the row-by-row reader can tell (see below); the
    tickers are left unread.

    Each field is read with a list comprehension: the fastest way out of 10,000 structs (a
    ``map(attrgetter)`` or a ``zip(*...)`` transposition measured slower). Absent nested objects
    are rare, so they are looked for only when reading a field through them fails.
    """
    count = len(rows)
    if not count:
        return page_columns({})
    details = [row.details for row in rows]
    no_details = None
    try:
        kinds = [d.contract_type for d in details]
    except AttributeError:
        no_details = np.array([d is None for d in details])
        details = _filled(details, _NO_DETAILS)
        kinds = [d.contract_type for d in details]
    kind = np.fromiter(map(_KIND.__getitem__, kinds), dtype=np.int8, count=count)
    if np.any(kind < 0) and any(_looks_empty(d) for d in details):
        # An empty "details": {} and one holding only fields we skip decode alike, yet the row
        # reader drops the first as missing details and the second as a missing type.
        return None
    strike = _floats([d.strike_price for d in details])
    shares = [d.shares_per_contract for d in details]
    # Standard contracts (100 shares, or the field absent) are the rule: counted, not converted.
    hundreds = shares.count(100)
    standard = hundreds == count or hundreds + shares.count(None) == count
    share = None if standard else _floats(shares)

    underlyings = [row.underlying_asset for row in rows]
    try:
        prices = [u.price for u in underlyings]
    except AttributeError:
        underlyings = _filled(underlyings, _NO_UNDERLYING)
        prices = [u.price for u in underlyings]
    stamps = [u.last_updated for u in underlyings]
    price, price_stamp = _floats(_same(prices)), _ints(_same(stamps))
    if price.size != price_stamp.size:
        price, price_stamp = _floats(prices), _ints(stamps)

    quotes = [row.last_quote for row in rows]
    try:
        bid = _floats([q.bid for q in quotes])
    except AttributeError:
        quotes = _filled(quotes, _NO_QUOTE)
        bid = _floats([q.bid for q in quotes])

    # Greeks and the day's bar: often absent from every row (a plan without them).
    try:
        delta = _floats([row.greeks.delta for row in rows])
    except AttributeError:
        delta = _nested_floats([row.greeks for row in rows], _NO_GREEKS)
    try:
        volume = _floats([row.day.volume for row in rows])
    except AttributeError:
        volume = _nested_floats([row.day for row in rows], _NO_DAY)

    return _checked(
        expiry=expiry,
        no_details=no_details,
        kind=kind,
        strike=strike,
        share=share,
        price=price,
        price_stamp=price_stamp,
        bid=bid,
        ask=_floats([q.ask for q in quotes]),
        quote_ns=_ints([q.last_updated for q in quotes]),
        iv=_floats([row.implied_volatility for row in rows]),
        delta=delta,
        open_interest=_floats([row.open_interest for row in rows]),
        volume=volume,
    )


def _checked(
    *,
    expiry: np.ndarray,
    no_details: np.ndarray | None,
    kind: np.ndarray,
    strike: np.ndarray,
    share: np.ndarray | None,
    price: np.ndarray,
    price_stamp: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    quote_ns: np.ndarray,
    iv: np.ndarray,
    delta: np.ndarray,
    open_interest: np.ndarray,
    volume: np.ndarray,
) -> PageColumns:
    """The rows' columns after every check ``parse.page_columns`` makes row by row, made on whole
    columns in the same order, so each dropped row gets the same reason; and what the rows say of
    the snapshot. Numbers are NaN where absent, stamps 0, ``kind`` -1 (else 1 call, 0 put);
    ``no_details``, ``share``: None when no row lacks details or has a non-standard deliverable;
    ``price`` and ``price_stamp`` may be one value standing for every row."""
    count = expiry.size
    # Underlying: the newest stamp and its price; absent stamps count as 0.
    eligible = np.flatnonzero((price > 0) & (price_stamp >= -1))
    page_price, page_price_ns = np.nan, -1
    if eligible.size:
        newest = price_stamp[eligible].max()
        last = eligible[price_stamp[eligible] == newest][-1]  # equal stamps: the later row wins
        page_price, page_price_ns = float(price[last]), int(newest)
    if quote_ns.size and quote_ns.min() < 0:
        quote_ns = np.maximum(quote_ns, 0)
    newest_ns = max(0, int(price_stamp.max()), int(quote_ns.max()))

    # The row reader's checks in its order: a row is dropped for the first one it fails.
    checks = (
        ("missing_details", no_details),
        ("missing_type", kind < 0),
        ("missing_expiry", expiry == _MISSING_DAY),
        ("bad_expiry", expiry == _BAD_DAY),
        ("missing_strike", np.isnan(strike)),
        ("bad_strike", ~(strike > 0)),
        ("non_standard_deliverable", None if share is None else ~np.isnan(share) & (share != 100)),
        ("no_quote", np.isnan(bid) | np.isnan(ask)),
        ("nonpositive_quote", (bid <= 0) | (ask <= 0)),
        ("crossed_quote", bid > ask),
    )
    dropped: dict[str, int] = {}
    usable = np.ones(count, dtype=bool)
    for reason, failed in checks:
        if failed is None:
            continue
        hits = int(np.count_nonzero(failed & usable))
        if hits:
            dropped[reason] = hits
            usable &= ~failed
    every = not dropped

    def kept(values: np.ndarray) -> np.ndarray:
        return values if every else values[usable]

    return PageColumns(
        expiry_day=kept(expiry),
        strike=kept(strike),
        is_call=kept(kind == 1),
        bid=kept(bid),
        ask=kept(ask),
        vendor_iv=kept(iv),
        vendor_delta=kept(delta),
        open_interest=kept(open_interest),
        volume=kept(volume),
        quote_time_ns=kept(quote_ns),
        dropped=dropped,
        rows=count,
        newest_ns=newest_ns,
        price=page_price,
        price_ns=page_price_ns,
        underlying_ticker=None,
        contract_ticker=None,
    )


def _nested_floats(parts: list, empty: _Greeks | _Day) -> np.ndarray:
    """The one number of the greeks or the day of each row, NaN where either is absent."""
    if parts[0] is None and parts.count(None) == len(parts):  # counting None is quick (identity)
        return np.full(len(parts), np.nan)
    name = empty.__struct_fields__[0]
    return _floats([getattr(part, name) for part in _filled(parts, empty)])


def _expiry_code(text: str | None) -> int:
    if text is None:
        return _MISSING_DAY
    day = expiry_day(text)
    return _BAD_DAY if day is None else day


def _looks_empty(details: _Details) -> bool:
    return details is not _NO_DETAILS and all(getattr(details, name) is None for name in _Details.__struct_fields__)
