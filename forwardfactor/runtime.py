"""Which market this process talks to, decided in one place for the scanner, the stream consumer and
the demo.

* ``POLYGON_API_KEY`` set: Polygon at ``POLYGON_REST_URL`` / ``POLYGON_WS_URL``.
* No key and ``POLYGON_REST_URL`` pointing somewhere else than the vendor (e.g. a running
  ``manage.py marketsim``): that server, with a placeholder key.
* No key and no URL (embedded default): one simulated market started in this process on first use.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import ProviderNotConfiguredError
from scanner.polygon.ratelimit import Rate, RateLimiter
from scanner.polygon.server_clock import ClockSource, ServerTimeClock, wall_clock

logger = logging.getLogger(__name__)

SIMULATED_API_KEY = "simulated-market-key"
VENDOR_REST_HOSTS = frozenset({"api.polygon.io", "api.massive.com"})

_lock = threading.Lock()
_provider: MarketProvider | None = None


@dataclass(frozen=True)
class MarketProvider:
    client: PolygonClient
    rest_url: str
    ws_url: str
    api_key: str = field(repr=False)
    simulated: bool
    # The market's clock: the wall clock for the vendor, the simulator's session clock otherwise.
    clock: ClockSource = field(default=wall_clock, repr=False)
    simulator: Any = field(default=None, repr=False)  # the embedded MarketSimServer, when we started one


def simulated_market_label() -> str:
    """ "SIMULATED DATA" while this process scans a simulated market, else "": the admin header and every
    email show it, so simulated signals are never mistaken for real ones."""
    return "SIMULATED DATA" if settings.MARKET_SIMULATED else ""


def market_provider() -> MarketProvider:
    """The process-wide provider; the embedded simulated market starts on the first call."""
    global _provider
    if _provider is None:
        with _lock:
            if _provider is None:
                _provider = _build()
    return _provider


def reset_market_provider() -> None:
    """Stop the embedded simulated market, if any, and forget the provider (tests, forked processes)."""
    global _provider
    with _lock:
        provider, _provider = _provider, None
    if provider is not None:
        provider.client.close()
        if provider.simulator is not None:
            provider.simulator.stop()


@contextmanager
def using_market(rest_url: str, clock: ClockSource | None = None, **overrides: Any) -> Iterator[None]:
    """Point this process at the (simulated) market serving ``rest_url``: market data, its stream, its
    clock (``clock``, default: read from the market), plus any other settings ``overrides``."""
    ws_url = _stream_url_beside(rest_url)
    with settings_overridden(
        POLYGON_API_KEY="", MARKET_SIMULATED=True, POLYGON_REST_URL=rest_url, POLYGON_WS_URL=ws_url, **overrides
    ):
        reset_market_provider()
        global _provider
        client = build_client(rest_url, SIMULATED_API_KEY)
        with _lock:
            _provider = MarketProvider(
                client, rest_url, ws_url, SIMULATED_API_KEY, True, clock or _server_clock(client)
            )
        try:
            yield
        finally:
            reset_market_provider()


@contextmanager
def settings_overridden(**values: Any) -> Iterator[None]:
    """Set Django settings in this process while the block runs, then put the old values back."""
    missing = object()
    saved = {name: getattr(settings, name, missing) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(settings, name)
            else:
                setattr(settings, name, value)


def _server_clock(client: PolygonClient) -> ClockSource:
    return ServerTimeClock(lambda: client.market_status().server_time)


def rate_limiter(api_key: str) -> RateLimiter:
    from forwardfactor.shared_state import shared_redis

    try:
        rate = Rate.parse(settings.POLYGON_MAX_RPS)
    except ValueError as exc:
        raise ProviderNotConfiguredError(f"POLYGON_MAX_RPS: {exc}") from None
    return RateLimiter.for_api_key(shared_redis(), rate, api_key)


def build_client(rest_url: str, api_key: str) -> PolygonClient:
    from forwardfactor.shared_state import shared_redis

    return PolygonClient(rest_url, api_key, limiter=rate_limiter(api_key), cache=shared_redis())


def _build() -> MarketProvider:
    rest_url = settings.POLYGON_REST_URL
    if not settings.MARKET_SIMULATED:
        api_key = settings.POLYGON_API_KEY
        return MarketProvider(build_client(rest_url, api_key), rest_url, settings.POLYGON_WS_URL, api_key, False)
    if urlsplit(rest_url).hostname not in VENDOR_REST_HOSTS:
        ws_url = settings.POLYGON_WS_URL
        if urlsplit(ws_url).hostname in {"socket.polygon.io", "delayed.polygon.io", "socket.massive.com"}:
            ws_url = _stream_url_beside(rest_url)
        logger.info("market data: the market at %s (no POLYGON_API_KEY)", rest_url)
        client = build_client(rest_url, SIMULATED_API_KEY)
        return MarketProvider(client, rest_url, ws_url, SIMULATED_API_KEY, True, _server_clock(client))
    return _start_embedded()


def _start_embedded() -> MarketProvider:
    try:
        from marketsim.server import MarketSimServer
    except ImportError as exc:
        raise ProviderNotConfiguredError(
            f"no POLYGON_API_KEY and the simulated market cannot start ({exc}); set POLYGON_API_KEY or POLYGON_REST_URL"
        ) from None
    simulator = MarketSimServer(
        seed=settings.MARKETSIM_SEED, speed=settings.MARKETSIM_SPEED, names=settings.MARKETSIM_NAMES
    )
    simulator.start()
    atexit.register(simulator.stop)
    logger.info("market data: embedded simulated market at %s (no POLYGON_API_KEY)", simulator.rest_url)
    client = build_client(simulator.rest_url, SIMULATED_API_KEY)
    return MarketProvider(
        client, simulator.rest_url, simulator.ws_url, SIMULATED_API_KEY, True, _server_clock(client), simulator
    )


def _stream_url_beside(rest_url: str) -> str:
    """ws://host:port/stocks for a simulated market serving REST at http://host:port."""
    parts = urlsplit(rest_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, "/stocks", "", ""))
