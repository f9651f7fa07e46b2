"""Chain requests of event-driven scanning vs polling, on one simulated session of 100 tickers.

Replayed in simulated time over the simulated market's own intraday price paths (per-second prices
from open to close), no services needed:

* event-driven: the stream consumer's :class:`MoveTrigger` (0.5%, 60 s minimum interval) on the
  per-second prices, plus the heartbeat every 10 minutes rescanning what was not scanned in 60;
* polling: every ticker scanned every 5 minutes.

Chain requests are counted per scan as the requests the scan needs for that ticker's chain on the
simulated market (the real chain fetch over loopback, second fetch: listings cached), so the ratio
is of requests, not just scans. Also reported: the median delay, in market seconds, from the moment
a ticker has moved 0.5% away from its last scan's price to the next scan, in each mode.
"""

from __future__ import annotations

import statistics
from datetime import date

import numpy as np

from scanner.stream.trigger import MoveTrigger

TICKERS = 100
SEED = 7
SESSION = date(2025, 3, 4)
POLL_EVERY_S = 300
HEARTBEAT_EVERY_S = 600
HEARTBEAT_STALE_S = 3600
THRESHOLD = 0.005
MIN_INTERVAL_S = 60


def price_paths(market, symbols: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-second prices of the regular session (seconds since the open, prices per symbol)."""
    seconds = np.arange(0, int(market.close_epoch - market.open_epoch))
    return seconds, {s: np.array([market.spot(s, market.open_epoch + t) for t in seconds]) for s in symbols}


def event_driven_scans(seconds: np.ndarray, prices: np.ndarray) -> list[int]:
    trigger = MoveTrigger(THRESHOLD, MIN_INTERVAL_S * 1000)
    trigger.watch(["X"])
    scans: list[int] = []
    last_scan = None
    for t, price in zip(seconds.tolist(), prices.tolist()):
        if t % HEARTBEAT_EVERY_S == 0 and (last_scan is None or t - last_scan >= HEARTBEAT_STALE_S):
            scans.append(t)
            last_scan = t
        if trigger.observe("X", price, t * 1000) is not None:
            scans.append(t)
            last_scan = t
    return scans


def polling_scans(seconds: np.ndarray) -> list[int]:
    return [t for t in seconds.tolist() if t % POLL_EVERY_S == 0]


def move_delays(prices: np.ndarray, scans: list[int]) -> list[int]:
    """For each time the price first sits 0.5% from the last scan's price: seconds until the next scan."""
    delays = []
    scan_set = sorted(scans)
    for i, start in enumerate(scan_set):
        end = scan_set[i + 1] if i + 1 < len(scan_set) else len(prices)
        reference = prices[start]
        # Up to and including the next scan: a move that itself triggered the scan has delay 0.
        window = np.abs(prices[start + 1:end + 1] - reference) / reference >= THRESHOLD
        hits = np.flatnonzero(window)
        if hits.size:
            crossed = start + 1 + int(hits[0])
            if end < len(prices):
                delays.append(end - crossed)
    return delays


def requests_per_scan(symbols: list[str]) -> dict[str, int]:
    """Chain requests one scan of each symbol takes on the simulated market (the real fetch, loopback)."""
    from django.conf import settings

    from scanner.chain_source import fetch_chain
    from scanner.market_clock import set_clock_source
    from scanner.marketsim.server import MarketSimServer
    from scanner.polygon.provider import reset_market_provider
    from scanner.scanning import engine_config

    saved = (settings.POLYGON_API_KEY, settings.MARKET_SIMULATED, settings.POLYGON_REST_URL, settings.POLYGON_MAX_RPS)
    sim = MarketSimServer(seed=SEED, speed=1.0, session_date=SESSION).start()
    settings.POLYGON_API_KEY, settings.MARKET_SIMULATED = "", True
    settings.POLYGON_REST_URL, settings.POLYGON_MAX_RPS = sim.rest_url, "1000"
    reset_market_provider()
    set_clock_source(sim.now)
    try:
        config = engine_config()
        # The second fetch is the steady state: the expiry listing is cached after the first.
        return {symbol: [fetch_chain(symbol, config) for _ in range(2)][-1].requests for symbol in symbols}
    finally:
        settings.POLYGON_API_KEY, settings.MARKET_SIMULATED, settings.POLYGON_REST_URL, settings.POLYGON_MAX_RPS = saved
        reset_market_provider()
        set_clock_source(None)
        sim.stop()


def run() -> list[dict]:
    from scanner.marketsim.market import Market

    market = Market(SEED, SESSION)
    symbols = [s for s in market.symbols() if market.profile(s).has_options and not market.profile(s).otc][:TICKERS]
    seconds, paths = price_paths(market, symbols)
    cost = requests_per_scan(symbols)
    event_requests = poll_requests = 0
    event_scans = poll_scans = 0
    event_delays: list[int] = []
    poll_delays: list[int] = []
    for symbol in symbols:
        prices = paths[symbol]
        events, polls = event_driven_scans(seconds, prices), polling_scans(seconds)
        event_scans, poll_scans = event_scans + len(events), poll_scans + len(polls)
        event_requests += len(events) * cost[symbol]
        poll_requests += len(polls) * cost[symbol]
        event_delays += move_delays(prices, events)
        poll_delays += move_delays(prices, polls)
    ratio = event_requests / poll_requests
    event_delay = statistics.median(event_delays) if event_delays else 0.0
    poll_delay = statistics.median(poll_delays) if poll_delays else 0.0
    print(f"   {TICKERS} tickers, one session: event-driven {event_scans} scans / {event_requests} chain requests, "
          f"polling {poll_scans} scans / {poll_requests} requests; median 0.5%-move-to-scan delay "
          f"{event_delay:.0f} s vs {poll_delay:.0f} s ({len(event_delays)} and {len(poll_delays)} moves); median "
          f"annual volatility of the names {statistics.median(market.profile(s).volatility for s in symbols):.2f}")
    return [
        {"name": "api.event_vs_poll_call_ratio", "value": round(ratio, 3), "unit": "x",
         "baseline": poll_requests, "ratio": None, "goal": "<= 0.2"},
        {"name": "api.move_to_scan_delay_event_s", "value": event_delay, "unit": "s (market)",
         "baseline": poll_delay, "ratio": None, "goal": None},
    ]
