"""Fetch only the part of an option chain the engine reads.

A big name lists 10,000+ contracts (40+ snapshot pages); a scan reads a handful of expiries and the
strikes around the money. So:

1. **Listed expiries** of the ticker up to a year out (the configured window at least), once a
   day per ticker (shared Redis): one snapshot request for the calls at a single standard strike
   near a reference price (a multiple of 5, 10 or 50 by price: the strike every expiry lists), so
   each expiry answers with one row that also carries the underlying price and a near-the-money IV
   (the term structure of the expiries a scan does not fetch).
2. **The needed expiries** (``scanner.engine.selection.needed_expiries``), in parallel on the
   client's session, each restricted to a strike band around spot wide enough for the target-delta
   legs: ±(z·σ·√T + σ²T/2) in log-moneyness from that expiry's IV, at least ±3%, at most the
   engine's ``strike_band_fraction``.
3. **One OptionChain** from all pages (``scanner.polygon.decode``: the response bytes go straight
   to columns).

The reference price is, in order: the caller's (the stream knows it), the last spot seen for the
ticker, or a one-contract snapshot. A spot that moved out of the band since then is caught after
the fetch and only the affected expiries are fetched again.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import orjson
import redis

from forwardfactor.runtime import market_provider
from forwardfactor.shared_state import shared_redis
from market.clock import market_now
from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.selection import expiry_window, needed_expiries
from scanner.engine.term import TERM_STRUCTURE_MAX_DTE
from scanner.engine.timing import trading_date, years_to_expiry
from scanner.polygon.client import PolygonClient, SnapshotPages
from scanner.polygon.decode import chain_from_pages
from scanner.polygon.errors import UnknownTickerError

logger = logging.getLogger(__name__)

BAND_Z = 0.9  # the 35-delta strike sits near 0.39·σ√T (0.5 with put skew): twice that, with room
CORE_Z = 0.6  # what must stay inside the fetched band after a spot move, else refetch
MIN_BAND = 0.03
FALLBACK_IV = 1.0  # no IV seen at all: assume a wild name (the band is then capped by the config)
MAX_PARALLEL = 6
EXPIRIES_TTL_S = 26 * 3600
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


@dataclass(frozen=True)
class _Listing:
    day: date
    window: tuple[date, date]
    expiries: tuple[date, ...]
    iv: dict[date, float]
    spot: float

    def covers(self, day: date, window: tuple[date, date]) -> bool:
        return self.day == day and self.window[0] <= window[0] and window[1] <= self.window[1]


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
    ) -> FetchedChain:
        """The chain the engine needs for ``ticker`` at market time ``as_of`` (it picks the window)."""
        started = time.perf_counter()
        ticker = ticker.strip().upper()
        client = self.client.counting()
        timings: dict[str, float] = {}
        day = trading_date(as_of)
        window = expiry_window(as_of, config)
        probe_window = (window[0], max(window[1], day + timedelta(days=TERM_STRUCTURE_MAX_DTE)))

        listing = self._cached_listing(ticker)
        cached = listing is not None and listing.covers(day, window)
        if not cached:
            hint = reference_price or (listing.spot if listing else None) or self._cached_spot(ticker)
            listing = self._discover(client, ticker, day, window, probe_window, hint)
            timings["discover_s"] = time.perf_counter() - started
            # The probe's own underlying price is fresher than any hint.
            spot = listing.spot
        else:
            spot = reference_price or listing.spot
        needed = needed_expiries(list(listing.expiries), as_of, config, earnings_dates)

        fetch_started = time.perf_counter()
        bands = {expiry: _band(spot, listing.iv.get(expiry), expiry, as_of, config) for expiry in needed}
        pages = self._fetch_expiries(client, ticker, bands)
        timings["fetch_s"] = time.perf_counter() - fetch_started

        parse_started = time.perf_counter()
        chain = _parse(pages, ticker, spot, as_of)
        moved = [e for e in needed if not _inside(bands[e], chain.underlying_price, listing.iv.get(e), e, as_of)]
        if moved:
            logger.info("%s: spot moved to %.4g, refetching %d expiries", ticker, chain.underlying_price, len(moved))
            spot = chain.underlying_price
            for expiry in moved:
                bands[expiry] = _band(spot, listing.iv.get(expiry), expiry, as_of, config)
            pages.update(self._fetch_expiries(client, ticker, {e: bands[e] for e in moved}))
            chain = _parse(pages, ticker, spot, as_of)
        timings["parse_s"] = time.perf_counter() - parse_started

        self._remember(ticker, listing, chain)
        return FetchedChain(
            chain=chain,
            requests=client.requests_made,
            expiries=tuple(needed),
            listed=listing.expiries,
            listed_iv=dict(listing.iv),
            expiries_cached=cached,
            seconds=time.perf_counter() - started,
            timings=timings,
        )

    # --- steps ----------------------------------------------------------------------------------

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
        )
        if self.cache is not None:
            self.cache.set(_listing_key(ticker), _dump_listing(listing), ex=EXPIRIES_TTL_S)
        return listing

    def _fetch_expiries(
        self, client: PolygonClient, ticker: str, bands: dict[date, tuple[float, float]]
    ) -> dict[date, SnapshotPages]:
        def one(expiry: date) -> SnapshotPages:
            low, high = bands[expiry]
            return client.option_chain_pages(ticker, expiration_date=expiry, strike_gte=low, strike_lte=high)

        if len(bands) <= 1:
            return {expiry: one(expiry) for expiry in bands}
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(bands))) as pool:
            return dict(zip(bands, pool.map(one, bands)))

    # --- cache ----------------------------------------------------------------------------------

    def _cached_listing(self, ticker: str) -> _Listing | None:
        if self.cache is None:
            return None
        raw = self.cache.get(_listing_key(ticker))
        return _load_listing(raw) if raw else None

    def _cached_spot(self, ticker: str) -> float | None:
        if self.cache is None:
            return None
        raw = self.cache.get(_spot_key(ticker))
        try:
            return float(raw) if raw else None
        except ValueError:
            return None

    def _remember(self, ticker: str, listing: _Listing, chain: OptionChain) -> None:
        if self.cache is None or not chain.underlying_price > 0:
            return
        self.cache.set(_spot_key(ticker), repr(chain.underlying_price).encode(), ex=SPOT_TTL_S)
        iv = {**listing.iv, **_iv_by_expiry(chain)}
        updated = _Listing(listing.day, listing.window, listing.expiries, iv, chain.underlying_price)
        self.cache.set(_listing_key(ticker), _dump_listing(updated), keepttl=True)


def fetch_chain(
    ticker: str,
    config: EngineConfig,
    as_of: datetime | None = None,
    reference_price: float | None = None,
    earnings_dates: tuple[date, ...] = (),
) -> FetchedChain:
    """The scan's entry point: the configured market, the shared cache, the market's clock."""
    fetcher = ChainFetcher(market_provider().client, shared_redis())
    return fetcher.fetch(ticker, config, as_of or market_now(), reference_price, earnings_dates)


# --- pure helpers -------------------------------------------------------------------------------


def probe_strike(price: float) -> float:
    """A standard strike near ``price`` that every expiry lists: coarse grids ($5, $10, $50) are
    subsets of the fine ones, so their multiples appear in every expiry's strikes near the money."""
    unit = 1.0 if price < 5 else 5.0 if price < 200 else 10.0 if price < 1000 else 50.0
    return max(unit, round(price / unit) * unit)


def _probe(client: PolygonClient, ticker: str, window: tuple[date, date], spot: float | None) -> SnapshotPages:
    if spot:
        strike = probe_strike(spot)
        low, high = strike - 0.001, strike + 0.001
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


def _band(spot: float, iv: float | None, expiry: date, as_of: datetime, config: EngineConfig) -> tuple[float, float]:
    half = _half_width(iv, expiry, as_of, BAND_Z)
    ceiling = config.strike_band_fraction
    low = max(spot * math.exp(-half), spot * (1 - ceiling))
    high = min(spot * math.exp(half), spot * (1 + ceiling))
    return low, high


def _half_width(iv: float | None, expiry: date, as_of: datetime, z: float) -> float:
    return max(MIN_BAND, _reach(iv, expiry, as_of, z))


def _reach(iv: float | None, expiry: date, as_of: datetime, z: float) -> float:
    """How far (log-moneyness) a strike of delta about N(-z) lies from spot: z·σ·√T + σ²T/2."""
    sigma = iv if iv is not None and math.isfinite(iv) and iv > 0 else FALLBACK_IV
    years = max(float(years_to_expiry(np.array([expiry], dtype="datetime64[D]"), as_of)[0]), 1 / 365)
    return z * sigma * math.sqrt(years) + sigma * sigma * years / 2


def _inside(band: tuple[float, float], spot: float, iv: float | None, expiry: date, as_of: datetime) -> bool:
    """Whether the strikes the engine reads around the new spot still lie in the fetched band."""
    reach = _reach(iv, expiry, as_of, CORE_Z)
    return band[0] <= spot * math.exp(-reach) and spot * math.exp(reach) <= band[1]


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


def _parse(pages: dict[date, SnapshotPages], ticker: str, spot: float, as_of: datetime) -> OptionChain:
    every_page = [page for expiry in sorted(pages) for page in pages[expiry].pages]
    if not any(page.contracts for page in every_page):
        return chain_from_pages([], ticker, underlying_price=spot, as_of=as_of)
    return chain_from_pages(every_page, ticker, underlying_price=spot)


def _listing_key(ticker: str) -> str:
    return f"ff:chain:listing:{ticker}"


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
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
