"""Our Polygon (Massive) REST client, on ``requests``.

One session with Bearer auth and explicit connect/read timeouts; every HTTP request first takes a
token from the fleet-wide rate limiter. Vendor failures become the types in ``errors.py``; transient
ones (5xx, timeouts, short 429 pauses) are retried a couple of times here, longer ones are left to
the caller (a Celery retry). The API key is only ever sent in the Authorization header and is
scrubbed from every message, log line and repr this module produces.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
import redis
import requests
from requests.adapters import HTTPAdapter

from market.calendar import last_session_on_or_before, session_before
from scanner.polygon import market_types
from scanner.polygon.decode import SnapshotPage, decode_snapshot_page
from scanner.polygon.errors import (
    AuthError,
    MalformedResponseError,
    MarketDataError,
    NotEntitledError,
    RateLimitedError,
    TransientError,
    UnknownTickerError,
)
from scanner.polygon.market_types import (
    ContractQuote,
    EarningsDate,
    GroupedDaily,
    MarketStatus,
    UnderlyingQuote,
)
from scanner.polygon.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

SNAPSHOT_PAGE_LIMIT = 250  # the vendor's maximum (its default is 10)
HAS_OPTIONS_TTL_S = 7 * 24 * 3600
PRICES_BATCH = 250  # tickers per full-market snapshot request: a URL of about 1.5 kB
EARNINGS_BATCH = 50  # tickers per ticker.any_of request: keeps the URL short
EARNINGS_PAGE_LIMIT = 1000
CONTRACTS_PAGE_LIMIT = 1000  # the vendor's maximum for reference contracts
# One monthly's calls of every US underlying: ~5,000 names × tens of strikes, a few hundred pages.
CONTRACTS_MAX_PAGES = 2000
_API_KEY_PARAM = re.compile(r"(apiKey=)[^&\s'\"]*", re.IGNORECASE)


class _Tally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


@dataclass(frozen=True)
class SnapshotPages:
    """Decoded option-snapshot pages (``scanner.polygon.decode.chain_from_pages`` joins them), plus what
    pagination learned on the way."""

    ticker: str
    pages: tuple[SnapshotPage, ...]
    expiries: frozenset[date]
    contracts: int
    requests: int


@dataclass(frozen=True)
class _Answer:
    payload: dict | SnapshotPage
    requests: int
    server_time: datetime


class PolygonClient:
    """Thread-safe: the session's connection pool is shared by the threads of a parallel chain fetch."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        limiter: RateLimiter | None = None,
        cache: redis.Redis | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 20.0,
        max_pages: int = 100,
        max_retries: int = 2,
        max_retry_wait: float = 5.0,
        acquire_timeout: float = 30.0,
        pool_size: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.limiter = limiter
        self.cache = cache
        self.timeout = (connect_timeout, read_timeout)
        self.max_pages = max_pages
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.acquire_timeout = acquire_timeout
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": "forwardfactor/1"}
        )
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._tallies: tuple[_Tally, ...] = (_Tally(),)

    def __repr__(self) -> str:
        return f"<PolygonClient {self.base_url} key=***>"

    # --- counting -------------------------------------------------------------------------------

    def counting(self) -> PolygonClient:
        """A view on the same session and limiter whose ``requests_made`` starts at 0 (one per scan)."""
        view = copy.copy(self)
        view._tallies = self._tallies + (_Tally(),)
        return view

    @property
    def requests_made(self) -> int:
        """HTTP requests sent through this client (or this ``counting()`` view), retries included."""
        return self._tallies[-1].value

    def close(self) -> None:
        self._session.close()

    # --- endpoints ------------------------------------------------------------------------------

    def option_chain_pages(
        self,
        underlying: str,
        *,
        expiration_date: date | None = None,
        expiration_gte: date | None = None,
        expiration_lte: date | None = None,
        strike_gte: float | None = None,
        strike_lte: float | None = None,
        contract_type: str | None = None,
        limit: int = SNAPSHOT_PAGE_LIMIT,
        max_pages: int | None = None,
    ) -> SnapshotPages:
        """Every page of ``/v3/snapshot/options/{underlying}`` for the given filters."""
        params = _snapshot_params(
            expiration_date, expiration_gte, expiration_lte, strike_gte, strike_lte, contract_type
        )
        params["limit"] = str(limit)
        pages: list[SnapshotPage] = []
        expiries: set[date] = set()
        contracts = 0
        requests_used = 0
        path = f"/v3/snapshot/options/{_path_ticker(underlying)}"
        # The pages' bytes go straight to columns: no dict per contract (see decode.py).
        for answer in self._pages(path, params, max_pages, read=decode_snapshot_page):
            requests_used += answer.requests
            page = answer.payload
            contracts += page.contracts
            expiries.update(page.expiries)
            pages.append(page)
        return SnapshotPages(underlying.upper(), tuple(pages), frozenset(expiries), contracts, requests_used)

    def contract_quotes(
        self,
        underlying: str,
        expiry: date,
        strike_gte: float,
        strike_lte: float,
        contract_type: str | None = None,
    ) -> tuple[list[ContractQuote], int]:
        """The quotes of ``underlying``'s contracts expiring on ``expiry`` with strikes in the band (one
        type or both), for marking positions: one request when the band holds at most a page of
        contracts; and the requests used."""
        params = _snapshot_params(expiry, None, None, strike_gte, strike_lte, contract_type)
        params["limit"] = str(SNAPSHOT_PAGE_LIMIT)
        quotes, requests_used = [], 0
        # Pages as plain JSON: a few contracts each, read by the quote reader (not the chain's columns).
        for answer in self._pages(f"/v3/snapshot/options/{_path_ticker(underlying)}", params, None):
            requests_used += answer.requests
            quotes.extend(market_types.contract_quotes(_results(answer.payload)))
        return quotes, requests_used

    def underlying_quote(
        self, underlying: str, *, expiration_gte: date | None = None, expiration_lte: date | None = None
    ) -> tuple[UnderlyingQuote, int]:
        """The underlying's price and the snapshot's time from a one-contract snapshot; and requests used."""
        params = {"limit": "1"}
        if expiration_gte is not None:
            params["expiration_date.gte"] = expiration_gte.isoformat()
        if expiration_lte is not None:
            params["expiration_date.lte"] = expiration_lte.isoformat()
        answer = self._get(f"/v3/snapshot/options/{_path_ticker(underlying)}", params)
        results = _results(answer.payload)
        if not results:
            raise UnknownTickerError(f"{underlying.upper()}: the provider lists no option contracts in that window")
        return market_types.underlying_quote(underlying.upper(), results, answer.server_time), answer.requests

    def grouped_daily(self, day: date, *, adjusted: bool = True, max_sessions_back: int = 3) -> GroupedDaily:
        """Every stock's bar for the last NYSE session on or before ``day``.

        The vendor answers a weekend, a holiday or a session not yet published with 200 and no
        ``results``; we ask the session before, a few times at most, then answer no bars for the
        first session tried (the caller keeps what it had).
        """
        first = session = last_session_on_or_before(day)
        for _ in range(max_sessions_back):
            answer = self._get(
                f"/v2/aggs/grouped/locale/us/market/stocks/{session.isoformat()}",
                {"adjusted": "true" if adjusted else "false"},
            )
            rows = answer.payload.get("results")
            if rows is not None:
                if not isinstance(rows, list):
                    raise MalformedResponseError(f"grouped daily {session}: results is not a list")
                return GroupedDaily(session=session, requested=day, bars=market_types.daily_bars(rows))
            logger.info("grouped daily %s has no results; trying the session before", session)
            session = session_before(session)
        logger.warning("grouped daily: no data for %d sessions up to %s", max_sessions_back, first)
        return GroupedDaily(session=first, requested=day, bars=())

    def has_listed_options(self, ticker: str) -> bool:
        """Whether any option contract is listed on ``ticker``; cached for a week in the shared Redis."""
        key = f"ff:polygon:has_options:{ticker.upper()}"
        if self.cache is not None:
            cached = self.cache.get(key)
            if cached is not None:
                return cached == b"1"
        answer = self._get("/v3/reference/options/contracts", {"underlying_ticker": ticker.upper(), "limit": "1"})
        listed = bool(_results(answer.payload))
        if self.cache is not None:
            self.cache.set(key, b"1" if listed else b"0", ex=HAS_OPTIONS_TTL_S)
        return listed

    def optionable_underlyings(
        self, expiration: date, *, progress: Callable[[int, int], None] | None = None
    ) -> set[str]:
        """Every underlying with a call expiring on ``expiration`` (a standard monthly lists nearly all
        of them): ``/v3/reference/options/contracts`` for that date and type, every page followed.
        ``progress(pages, underlyings so far)`` after each page. Any error is raised: a partial list
        must never stand for the whole."""
        params = {
            "expiration_date": expiration.isoformat(),
            "contract_type": "call",
            "expired": "false",
            "limit": str(CONTRACTS_PAGE_LIMIT),
        }
        found: set[str] = set()
        pages = 0
        for answer in self._pages("/v3/reference/options/contracts", params, CONTRACTS_MAX_PAGES):
            found |= market_types.underlying_tickers(_results(answer.payload))
            pages += 1
            if progress is not None:
                progress(pages, len(found))
        return found

    def last_prices(self, tickers: Iterable[str]) -> dict[str, float]:
        """The last trade price of each of ``tickers`` from the vendor's full-market stock snapshot,
        ``PRICES_BATCH`` tickers a request (a sweep of 2,000 names: 8 requests); unknown ones are left out."""
        symbols = sorted({_path_ticker(ticker) for ticker in tickers})
        prices: dict[str, float] = {}
        for start in range(0, len(symbols), PRICES_BATCH):
            batch = symbols[start : start + PRICES_BATCH]
            answer = self._get("/v2/snapshot/locale/us/markets/stocks/tickers", {"tickers": ",".join(batch)})
            entries = answer.payload.get("tickers") or []
            if not isinstance(entries, list):
                raise MalformedResponseError("stocks snapshot: tickers is not a list")
            prices.update(market_types.last_prices(entries))
        return prices

    def earnings(self, tickers: Iterable[str], date_from: date, date_to: date) -> list[EarningsDate]:
        """The vendor's (Benzinga's) earnings dates of ``tickers`` between the two dates, inclusive,
        sorted by ticker and date; ``EARNINGS_BATCH`` tickers per request, every page followed. A plan
        without the data raises ``NotEntitledError``."""
        symbols = sorted({_path_ticker(ticker) for ticker in tickers})
        found: dict[tuple[str, date], EarningsDate] = {}
        for start in range(0, len(symbols), EARNINGS_BATCH):
            batch = symbols[start : start + EARNINGS_BATCH]
            params = {
                "date.gte": date_from.isoformat(),
                "date.lte": date_to.isoformat(),
                "sort": "date.asc",
                "limit": str(EARNINGS_PAGE_LIMIT),
            }
            if len(batch) == 1:
                params["ticker"] = batch[0]
            else:
                params["ticker.any_of"] = ",".join(batch)
            wanted = set(batch)
            for answer in self._pages("/benzinga/v1/earnings", params, None):
                for row in market_types.earnings_dates(_results(answer.payload)):
                    key = (row.ticker, row.date)
                    # Two rows for one report (e.g. revised): a confirmed one wins.
                    if (
                        row.ticker in wanted
                        and date_from <= row.date <= date_to
                        and (key not in found or row.confirmed)
                    ):
                        found[key] = row
        return [found[key] for key in sorted(found)]

    def market_status(self) -> MarketStatus:
        """The provider's clock (``serverTime``) and market state."""
        return market_types.market_status(self._get("/v1/marketstatus/now", {}).payload)

    # --- transport ------------------------------------------------------------------------------

    def _pages(
        self,
        path: str,
        params: dict[str, str],
        max_pages: int | None,
        read: Callable[[bytes], SnapshotPage] | None = None,
    ):
        cap = max_pages or self.max_pages
        seen: set[str] = set()
        target: tuple[str, dict[str, str]] | None = (path, params)
        count = 0
        while target is not None:
            if count >= cap:
                raise MalformedResponseError(f"GET {path}: more than {cap} pages; stopped (page cap)")
            answer = self._get(*target, read=read)
            count += 1
            yield answer
            payload = answer.payload
            next_url = payload.next_url if isinstance(payload, SnapshotPage) else payload.get("next_url")
            if not next_url:
                return
            if not isinstance(next_url, str):
                raise MalformedResponseError(f"GET {path}: next_url is not a string")
            target = _follow(next_url)
            cursor = target[0] + "?" + urlencode(sorted(target[1].items()))
            if cursor in seen:
                raise MalformedResponseError(f"GET {path}: the provider repeated a page cursor after {count} pages")
            seen.add(cursor)

    def _get(self, path: str, params: dict[str, str], read: Callable[[bytes], SnapshotPage] | None = None) -> _Answer:
        """read: turns a 200's bytes into the payload (default: a JSON object as a dict)."""
        what = self._redact(f"GET {path}")
        attempts = 0
        while True:
            if self.limiter is not None:
                self.limiter.acquire(timeout=self.acquire_timeout)
            attempts += 1
            for tally in self._tallies:
                tally.add()
            try:
                response = self._session.get(self.base_url + path, params=params, timeout=self.timeout)
                return _Answer(self._decode(what, response, read), attempts, _server_time(response))
            except TransientError as exc:
                if attempts > self.max_retries:
                    raise
                wait = self._retry_wait(exc, attempts)
                if wait is None:
                    raise
                logger.warning("%s; retry %d in %.2f s", exc, attempts, wait)
                self._sleep(wait)
            except requests.Timeout:
                if attempts > self.max_retries:
                    raise TransientError(f"{what}: timed out after {attempts} attempts") from None
                logger.warning("%s: timed out; retry %d", what, attempts)
                self._sleep(self._backoff(attempts))
            except requests.RequestException as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}")[:200]
                if attempts > self.max_retries:
                    raise TransientError(f"{what}: {reason}") from None
                logger.warning("%s: %s; retry %d", what, reason, attempts)
                self._sleep(self._backoff(attempts))

    def _retry_wait(self, exc: TransientError, attempts: int) -> float | None:
        if isinstance(exc, RateLimitedError):
            wait = exc.retry_after if exc.retry_after is not None else 1.0
            if wait > self.max_retry_wait:
                return None
            if self.limiter is not None:
                # The whole fleet shares the key: everyone waits, then the bucket meters the restart.
                self.limiter.pause(wait)
                return 0.0
            return wait
        return self._backoff(attempts)

    @staticmethod
    def _backoff(attempts: int) -> float:
        return min(2.0, 0.2 * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)

    def _decode(
        self, what: str, response: requests.Response, read: Callable[[bytes], SnapshotPage] | None = None
    ) -> dict | SnapshotPage:
        status = response.status_code
        if status == 200 and read is not None:
            try:
                return read(response.content)
            except MalformedResponseError as exc:
                raise MalformedResponseError(f"{what}: {exc}") from None
        if status == 200:
            try:
                payload = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise MalformedResponseError(
                    f"{what}: the answer is not valid JSON ({len(response.content)} bytes: {exc})"
                ) from None
            if not isinstance(payload, dict):
                raise MalformedResponseError(f"{what}: the answer is JSON but not an object")
            return payload
        message = self._redact(_vendor_message(response))
        if status == 401:
            raise AuthError(f"{what}: the provider rejected the API key (401 {message}); check POLYGON_API_KEY")
        if status == 403:
            raise NotEntitledError(
                f"{what}: the API key's plan does not include this data (403 {message}); not retried, "
                "upgrade the plan or scan without it"
            )
        if status == 404:
            raise UnknownTickerError(f"{what}: not found (404 {message})")
        if status == 429:
            retry_after = _retry_after(response)
            raise RateLimitedError(
                f"{what}: rate limited by the provider (429, retry after {retry_after:g} s)", retry_after=retry_after
            )
        if status >= 500:
            raise TransientError(f"{what}: provider error {status} {message}")
        raise MarketDataError(f"{what}: unexpected answer {status} {message}")

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return _API_KEY_PARAM.sub(r"\1***", text)


def _follow(next_url: str) -> tuple[str, dict[str, str]]:
    """The path and query of a ``next_url``, whatever host it names (we always ask our base URL)."""
    parts = urlsplit(next_url)
    params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "apikey"}
    return parts.path or "/", params


def _results(payload: dict) -> list:
    results = payload.get("results")
    if results is None:
        return []
    if not isinstance(results, list):
        raise MalformedResponseError("the answer's results is not a list")
    return results


def _strike(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _path_ticker(ticker: str) -> str:
    cleaned = ticker.strip().upper()
    if not re.fullmatch(r"[A-Z0-9.:\-]{1,16}", cleaned):
        raise UnknownTickerError(f"{ticker!r} is not a ticker symbol")
    return cleaned


def _vendor_message(response: requests.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.reason or ""
    if isinstance(body, dict):
        parts = [str(body.get(k)) for k in ("status", "message", "error") if body.get(k)]
        return ": ".join(parts)[:300]
    return response.reason or ""


def _retry_after(response: requests.Response) -> float:
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return 1.0
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return 1.0
    return max(0.0, seconds) if math.isfinite(seconds) else 1.0


def _server_time(response: requests.Response) -> datetime:
    raw = response.headers.get("Date")
    if raw:
        try:
            stamp = parsedate_to_datetime(raw)
            if stamp.tzinfo is not None:
                return stamp.astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def _snapshot_params(
    expiration_date: date | None,
    expiration_gte: date | None,
    expiration_lte: date | None,
    strike_gte: float | None,
    strike_lte: float | None,
    contract_type: str | None,
) -> dict[str, str]:
    """The chain snapshot's filters as query parameters."""
    params: dict[str, str] = {}
    if expiration_date is not None:
        params["expiration_date"] = expiration_date.isoformat()
    if expiration_gte is not None:
        params["expiration_date.gte"] = expiration_gte.isoformat()
    if expiration_lte is not None:
        params["expiration_date.lte"] = expiration_lte.isoformat()
    if strike_gte is not None:
        params["strike_price.gte"] = _strike(strike_gte)
    if strike_lte is not None:
        params["strike_price.lte"] = _strike(strike_lte)
    if contract_type is not None:
        if contract_type not in ("call", "put"):
            raise ValueError(f"contract_type must be 'call' or 'put', not {contract_type!r}")
        params["contract_type"] = contract_type
    return params
