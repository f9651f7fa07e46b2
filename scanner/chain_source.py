"""Fetch only the part of an option chain the engine reads.

A big name lists 10,000+ contracts (40+ snapshot pages); a scan reads a handful of expiries and the
strikes around the money. So:

1. **Listed expiries** of the ticker up to a year out (the configured window at least), from one
   probe that later days of the month reuse until a listed expiry passes (shared Redis; exchanges
   list new series as old ones expire and at a month's turn, see ``_Listing.stands_for``): one
   snapshot request for the calls at the strikes from a standard
   one near a reference price (a multiple of 5, 10 or 50 by price: the strike every expiry lists) to
   $2.50 above it, so each expiry answers with one to three rows that carry the underlying price, a
   near-the-money IV (the term structure of the expiries a scan does not fetch) and the strike step
   near the money (how many contracts a strike range holds).
2. **The needed expiries** (``scanner.engine.selection.needed_expiries``), planned by
   ``scanner.fetch_plan``: each expiry's calls and puts only over the strikes the engine reads there
   (ATM, and the 35-delta wings of a pair's front, estimated from the probe's IV), neighbouring
   expiries sharing a query where the pages allow; the queries run in parallel on the client's
   session. A scan keeps within ``SCAN_REQUEST_BUDGET`` requests, its earnings check included
   (tests/polygon/test_scan_request_budget.py sweeps a year of sessions).
3. **One OptionChain** from all pages (``scanner.polygon.decode``: the response bytes go straight
   to columns; each (expiry, type) taken from the request that covered it).

The reference price is, in order: the caller's (the stream knows it), the last spot seen for the
ticker, or a one-contract snapshot. A spot that moved out of the band since then is caught after
the fetch and only the affected expiries are fetched again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import orjson
import redis

from forwardfactor.runtime import market_provider
from forwardfactor.shared_state import shared_redis
from market.clock import market_now
from scanner import fetch_plan
from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.selection import expiry_window, needed_expiries
from scanner.engine.term import TERM_STRUCTURE_MAX_DTE
from scanner.engine.timing import trading_date
from scanner.fetch_plan import CORE, ROOMY, TIGHT
from scanner.polygon.client import PolygonClient, SnapshotPages
from scanner.polygon.decode import chain_from_pages, pages_columns
from scanner.polygon.errors import UnknownTickerError
from scanner.polygon.parse import chain_from_columns

logger = logging.getLogger(__name__)
# PageColumns.expiry_day counts days since 1970-01-01.
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

MAX_PARALLEL = 6
SCAN_REQUEST_BUDGET = 8  # a scan's requests, its earnings check included (DESIGN.md §4)
CARRY_DAYS = 31  # a listing stands for the rest of its month at most (see _Listing.stands_for)
EXPIRIES_TTL_S = (CARRY_DAYS + 1) * 24 * 3600
FRESH_PRICE_TTL_S = 300  # a sweep's prices stand for its scans (they finish within minutes)
SPOT_TTL_S = 14 * 24 * 3600


@dataclass(frozen=True)
class FetchedChain:
    chain: OptionChain
    requests: int
    expiries: tuple[date, ...]  # fetched
    listed: tuple[date, ...]  # listed up to a year out (the configured window at least)
    listed_iv: dict[date, float]  # near-the-money IV of listed expiries (the probe's, or a fetch's since)
    expiries_cached: bool
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    requested: tuple[fetch_plan.Request, ...] = ()  # the chain's snapshot queries, a refetch included


@dataclass(frozen=True)
class _Listing:
    day: date
    window: tuple[date, date]
    expiries: tuple[date, ...]
    iv: dict[date, float]
    spot: float
    steps: dict[date, float] = field(default_factory=dict)  # strike step near the money (the probe's)

    def between(self, first: date, last: date) -> _Listing:
        """The listing of the expiries from ``first`` to ``last`` only."""
        kept = tuple(expiry for expiry in self.expiries if first <= expiry <= last)
        if kept == self.expiries:
            return self
        return _Listing(
            day=self.day,
            window=(max(first, self.window[0]), min(last, self.window[1])),
            expiries=kept,
            iv={expiry: v for expiry, v in self.iv.items() if first <= expiry <= last},
            spot=self.spot,
            steps={expiry: v for expiry, v in self.steps.items() if first <= expiry <= last},
        )

    def stands_for(self, day: date, window: tuple[date, date]) -> bool:
        """Whether this listing, probed on ``self.day``, is the listing of ``day`` over ``window``: the
        same day, or a later one of the same month before any of its expiries has passed. Series are
        added when one expires (the next weekly, the next monthly or quarterly) and when a month
        turns (the month the monthly cycle reaches), so until then the listing is what it was."""
        if not (self.window[0] <= window[0] and window[1] <= self.window[1]):
            return False
        if day == self.day:
            return True
        same_month = (day.year, day.month) == (self.day.year, self.day.month)
        return self.day < day and same_month and not any(self.day <= expiry < day for expiry in self.expiries)


class ChainFetcher:
    def __init__(self, client: PolygonClient, cache: redis.Redis | None, max_parallel: int = MAX_PARALLEL) -> None:
        self.client = client
        self.cache = cache
        self.max_parallel = max_parallel

    def fetch(
        self,
        ticker: str,
        config: EngineConfig,
        as_of: datetime,
        reference_price: float | None = None,
        earnings_dates: tuple[date, ...] = (),
        budget: int = SCAN_REQUEST_BUDGET,
    ) -> FetchedChain:
        """The chain the engine needs for ``ticker`` at market time ``as_of`` (it picks the window).
        ``budget``: the requests this fetch should stay within; a plan that would break it is
        tightened (less room around the strikes), never cut (the scan's figures come first)."""
        started = time.perf_counter()
        ticker = ticker.strip().upper()
        client = self.client.counting()
        timings: dict[str, float] = {}
        day = trading_date(as_of)
        window = expiry_window(as_of, config)
        # The probe reads today's expiry too (its passing ends the listing's days) and a month beyond
        # the term structure's year, so that the listing still reaches a year out on later days.
        probe_window = (day, max(window[1], day + timedelta(days=TERM_STRUCTURE_MAX_DTE + CARRY_DAYS)))

        stored = self._cached_listing(ticker)
        cached = stored is not None and stored.stands_for(day, window)
        # A listing of an earlier day comes without today's spot: it stands only beside a fresh price
        # (a sweep's), else the probe that tells the spot as well costs no more than a refetch would.
        fresh = self._cached_price(_fresh_key(ticker)) if cached and stored.day != day else None
        if cached and stored.day != day and fresh is None:
            cached = False
        listing = stored
        if not cached:
            hint = (
                reference_price
                or (listing.spot if listing else None)
                or self._cached_price(_spot_key(ticker))
                or self._cached_price(_close_key(ticker))
            )
            listing = stored = self._discover(client, ticker, day, window, probe_window, hint)
            timings["discover_s"] = time.perf_counter() - started
            # The probe's own underlying price is fresher than any hint.
            spot = listing.spot
        else:
            spot = fresh or reference_price or listing.spot
        # What a probe today would list: from the window's start to a year out.
        listing = listing.between(window[0], max(window[1], day + timedelta(days=TERM_STRUCTURE_MAX_DTE)))
        needed = needed_expiries(list(listing.expiries), as_of, config, earnings_dates)

        fetch_started = time.perf_counter()
        requests = self._plan(spot, as_of, config, listing, needed, budget - client.requests_made)
        answers = self._fetch(client, ticker, requests)
        timings["fetch_s"] = time.perf_counter() - fetch_started

        parse_started = time.perf_counter()
        chain = _parse(answers, needed, ticker, spot, as_of)
        if chain.underlying_price > 0 and chain.underlying_price != spot:
            # Spot moved since the reference: fetch again only what the new spot needs and the plan missed.
            spot = chain.underlying_price
            core = fetch_plan.needs(spot, as_of, config, listing.expiries, needed, listing.iv, listing.steps, CORE)
            moved = fetch_plan.uncovered(core, [request for request, _ in answers])
            if moved:
                logger.info("%s: spot moved to %.4g, refetching %d expiries", ticker, spot, len(moved))
                again = self._plan(spot, as_of, config, listing, moved, budget - client.requests_made)
                answers += self._fetch(client, ticker, again)
                chain = _parse(answers, needed, ticker, spot, as_of)
        timings["parse_s"] = time.perf_counter() - parse_started

        self._remember(ticker, stored, chain)
        return FetchedChain(
            chain=chain,
            requests=client.requests_made,
            expiries=tuple(needed),
            listed=listing.expiries,
            listed_iv=dict(listing.iv),
            expiries_cached=cached,
            requested=tuple(request for request, _ in answers),
            seconds=time.perf_counter() - started,
            timings=timings,
        )

    # --- steps ----------------------------------------------------------------------------------

    @staticmethod
    def _plan(
        spot: float, as_of: datetime, config: EngineConfig, listing: _Listing, needed: list[date], budget: int
    ) -> list[fetch_plan.Request]:
        plans = []
        for slack in (ROOMY, TIGHT):
            wanted = fetch_plan.needs(spot, as_of, config, listing.expiries, needed, listing.iv, listing.steps, slack)
            plans.append(fetch_plan.plan(wanted, listing.expiries, listing.steps, spot))
            if fetch_plan.pages(plans[-1]) <= budget:
                return plans[-1]
        return min(plans, key=fetch_plan.pages)

    def _discover(
        self,
        client: PolygonClient,
        ticker: str,
        day: date,
        window: tuple[date, date],
        probe_window: tuple[date, date],
        spot: float | None,
    ) -> _Listing:
        """The listed expiries: up to a year out from the one-strike probe (one row per expiry), the
        configured window only from the costly last resort."""
        probe = _probe(client, ticker, probe_window, spot) if spot else None
        if probe is None or not probe.expiries:
            # No reference price, or its strike is not listed (stale price, odd strikes): ask for spot.
            quote, _ = client.underlying_quote(ticker, expiration_gte=window[0], expiration_lte=window[1])
            fresh = quote.price if math.isfinite(quote.price) else None
            if fresh and (not spot or probe_strike(fresh) != probe_strike(spot)):
                spot = fresh
                probe = _probe(client, ticker, probe_window, spot)
        if probe is not None and probe.expiries:
            window = probe_window
        else:
            # Last resort, costly on a big name: every call in the window.
            probe = _probe(client, ticker, window, None)
        if not probe.expiries:
            raise UnknownTickerError(f"{ticker}: no option contracts listed between {window[0]} and {window[1]}")
        seen = chain_from_pages(probe.pages, ticker, underlying_price=spot)
        listing = _Listing(
            day=day,
            window=window,
            expiries=tuple(sorted(probe.expiries)),
            iv=_iv_by_expiry(seen),
            spot=seen.underlying_price,
            steps=fetch_plan.strike_steps(seen.expiry, seen.strike, probe_span(seen.underlying_price)),
        )
        if self.cache is not None:
            self.cache.set(_listing_key(ticker), _dump_listing(listing), ex=EXPIRIES_TTL_S)
        return listing

    def _fetch(
        self, client: PolygonClient, ticker: str, requests: list[fetch_plan.Request]
    ) -> list[tuple[fetch_plan.Request, SnapshotPages]]:
        def one(request: fetch_plan.Request) -> SnapshotPages:
            single = request.first == request.last
            return client.option_chain_pages(
                ticker,
                expiration_date=request.first if single else None,
                expiration_gte=None if single else request.first,
                expiration_lte=None if single else request.last,
                strike_gte=request.low,
                strike_lte=request.high,
                contract_type=request.contract_type,
            )

        if len(requests) <= 1:
            return [(request, one(request)) for request in requests]
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(requests))) as pool:
            return list(zip(requests, pool.map(one, requests)))

    # --- cache ----------------------------------------------------------------------------------

    def _cached_listing(self, ticker: str) -> _Listing | None:
        if self.cache is None:
            return None
        raw = self.cache.get(_listing_key(ticker))
        return _load_listing(raw) if raw else None

    def _cached_price(self, key: str) -> float | None:
        if self.cache is None:
            return None
        raw = self.cache.get(key)
        try:
            return float(raw) if raw else None
        except ValueError:
            return None

    def _remember(self, ticker: str, listing: _Listing, chain: OptionChain) -> None:
        if self.cache is None or not chain.underlying_price > 0:
            return
        self.cache.set(_spot_key(ticker), repr(chain.underlying_price).encode(), ex=SPOT_TTL_S)
        iv = {**listing.iv, **_iv_by_expiry(chain)}
        updated = _Listing(listing.day, listing.window, listing.expiries, iv, chain.underlying_price, listing.steps)
        self.cache.set(_listing_key(ticker), _dump_listing(updated), keepttl=True)


def fetch_chain(
    ticker: str,
    config: EngineConfig,
    as_of: datetime | None = None,
    reference_price: float | None = None,
    earnings_dates: tuple[date, ...] = (),
    budget: int = SCAN_REQUEST_BUDGET,
) -> FetchedChain:
    """The scan's entry point: the configured market, the shared cache, the market's clock."""
    fetcher = ChainFetcher(market_provider().client, shared_redis())
    return fetcher.fetch(ticker, config, as_of or market_now(), reference_price, earnings_dates, budget)


def remember_fresh_prices(prices: Mapping[str, float]) -> int:
    """Prices just asked of the vendor (a sweep's full-market snapshot): for ``FRESH_PRICE_TTL_S``
    they let a scan plan on a listing probed on an earlier day. Returns how many were stored."""
    return _store_prices(prices, _fresh_key, FRESH_PRICE_TTL_S)


def remember_reference_prices(prices: Mapping[str, float]) -> int:
    """Last-session closes (the universe refresh's grouped daily) as every ticker's reference price for
    its cold scans: the expiry probe then needs no spot request of its own (a scan's budget). The last
    price a scan saw comes first when there is one. Returns how many were stored."""
    return _store_prices(prices, _close_key, SPOT_TTL_S)


def _store_prices(prices: Mapping[str, float], key_of: Callable[[str], str], ttl_s: int) -> int:
    """The usable (finite, positive) prices under each ticker's key, in one round trip; how many."""
    pipe = shared_redis().pipeline(transaction=False)
    usable = {t: p for t, p in prices.items() if math.isfinite(p) and p > 0}
    for ticker, price in usable.items():
        pipe.set(key_of(ticker.upper()), repr(float(price)).encode(), ex=ttl_s)
    pipe.execute()
    return len(usable)


# --- pure helpers -------------------------------------------------------------------------------


def probe_strike(price: float) -> float:
    """A standard strike near ``price`` that every expiry lists: coarse grids ($5, $10, $50) are
    subsets of the fine ones, so their multiples appear in every expiry's strikes near the money."""
    unit = 1.0 if price < 5 else 5.0 if price < 200 else 10.0 if price < 1000 else 50.0
    return max(unit, round(price / unit) * unit)


def probe_span(price: float) -> float:
    """How far above the standard strike the probe reads: enough to see a $0.50, $1 or $2.50 step
    (two or three strikes an expiry) and still one page for a year of dailies."""
    return 0.5 if price < 5 else 2.5


def _probe(client: PolygonClient, ticker: str, window: tuple[date, date], spot: float | None) -> SnapshotPages:
    if spot:
        strike = probe_strike(spot)
        low, high = strike - 0.001, strike + probe_span(spot) + 0.001
    else:
        low = high = None
    return client.option_chain_pages(
        ticker,
        expiration_gte=window[0],
        expiration_lte=window[1],
        contract_type="call",
        strike_gte=low,
        strike_lte=high,
    )


def _iv_by_expiry(chain: OptionChain) -> dict[date, float]:
    """Per expiry, the median vendor IV of the (up to) four strikes nearest spot."""
    result: dict[date, float] = {}
    if len(chain) == 0:
        return result
    distance = np.abs(chain.strike - chain.underlying_price)
    for expiry in np.unique(chain.expiry):
        rows = np.flatnonzero((chain.expiry == expiry) & np.isfinite(chain.vendor_iv) & (chain.vendor_iv > 0))
        if rows.size:
            nearest = rows[np.argsort(distance[rows])[:4]]
            result[expiry.item()] = float(np.median(chain.vendor_iv[nearest]))
    return result


def _parse(
    answers: list[tuple[fetch_plan.Request, SnapshotPages]],
    needed: list[date],
    ticker: str,
    spot: float,
    as_of: datetime,
) -> OptionChain:
    """One chain of the needed expiries' rows, each (expiry, type) from the last request that covered
    it (a refetch after a spot move supersedes), without the unneeded expiries a range query brought."""
    owner = {
        (expiry.toordinal() - _EPOCH_ORDINAL, t == "call"): i
        for i, (request, _) in enumerate(answers)
        for expiry in request.covers
        for t in request.types()
    }
    columns = [
        page.select(
            np.fromiter(
                (owner.get(key) == i for key in zip(page.expiry_day.tolist(), page.is_call.tolist())),
                bool,
                len(page.strike),
            )
        )
        for i, (_, pages) in enumerate(answers)
        for page in pages_columns(pages.pages, tickers=False)  # the scan names the ticker
    ]
    if not any(len(page.strike) for page in columns):
        return chain_from_columns([], ticker, underlying_price=spot, as_of=as_of)
    return chain_from_columns(columns, ticker, underlying_price=spot)


def _listing_key(ticker: str) -> str:
    return f"ff:chain:listing:{ticker}"


def _close_key(ticker: str) -> str:
    return f"ff:chain:close:{ticker}"


def _fresh_key(ticker: str) -> str:
    return f"ff:chain:fresh:{ticker}"


def _spot_key(ticker: str) -> str:
    return f"ff:chain:spot:{ticker}"


def _dump_listing(listing: _Listing) -> bytes:
    return orjson.dumps(
        {
            "day": listing.day.isoformat(),
            "window": [listing.window[0].isoformat(), listing.window[1].isoformat()],
            "expiries": [e.isoformat() for e in listing.expiries],
            "iv": {e.isoformat(): v for e, v in listing.iv.items()},
            "spot": listing.spot,
            "steps": {e.isoformat(): v for e, v in listing.steps.items()},
        }
    )


def _load_listing(raw: bytes) -> _Listing | None:
    try:
        data = orjson.loads(raw)
        return _Listing(
            day=date.fromisoformat(data["day"]),
            window=(date.fromisoformat(data["window"][0]), date.fromisoformat(data["window"][1])),
            expiries=tuple(date.fromisoformat(e) for e in data["expiries"]),
            iv={date.fromisoformat(e): float(v) for e, v in data["iv"].items()},
            spot=float(data["spot"]),
            steps={date.fromisoformat(e): float(v) for e, v in data.get("steps", {}).items()},
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
