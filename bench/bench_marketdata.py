"""Market data: what a scan of a SPY-size chain costs with our fetch vs following every page.

Both run in the same process against the simulated market with 100 ms of latency added to every
request (an honest stand-in for the vendor's round trip). ``our_fetch_s`` is a first scan of the
day with nothing cached (spot request, expiry probe, needed expiries in parallel); the warm figure
(expiries cached) is reported too. Both include parsing into an OptionChain. No rate limiter: the
figures are about the requests themselves. ``scan_requests_max`` is the most any cold first scan of
the richest simulated names (earnings check included) costs over every fifth session of a year.
"""

from __future__ import annotations

import logging
import statistics
import time
from datetime import timedelta

import fakeredis

from marketsim.server import MarketSimServer
from marketsim.session import nyse
from scanner.chain_source import SCAN_REQUEST_BUDGET, ChainFetcher
from scanner.engine.config import EngineConfig
from scanner.polygon.client import PolygonClient
from scanner.polygon.decode import chain_from_pages

TICKER = "SPY"
LATENCY_MS = 100
REPEATS = 3
RICHEST = ("NFLX", "COIN", "TSLA", "SPY")
SWEEP_YEAR = ("2025-01-02", "2025-12-31")


def _max_scan_requests() -> tuple[int, str]:
    """The most requests a cold first scan of a rich name costs on the sampled sessions, and where."""
    worst, where = 0, ""
    for stamp in nyse().sessions_in_range(*SWEEP_YEAR)[::5]:
        day = stamp.date()
        with MarketSimServer(seed=7, speed=0.0, session_date=day) as sim:
            client = PolygonClient(sim.rest_url, "bench-key")
            for name in RICHEST:
                counting = client.counting()
                earnings = tuple(row.date for row in counting.earnings([name], day, day + timedelta(days=120)))
                ChainFetcher(counting, fakeredis.FakeRedis()).fetch(
                    name,
                    EngineConfig(),
                    sim.now(),
                    reference_price=sim.market.profile(name).price,
                    earnings_dates=earnings,
                    budget=SCAN_REQUEST_BUDGET - counting.requests_made,
                )
                if counting.requests_made > worst:
                    worst, where = counting.requests_made, f"{name} on {day.isoformat()}"
    return worst, where


def _full_pagination(client: PolygonClient) -> tuple[float, int, int]:
    started = time.perf_counter()
    pages = client.option_chain_pages(TICKER)
    chain_from_pages(pages.pages, TICKER)
    return time.perf_counter() - started, pages.requests, pages.contracts


def run() -> list[dict]:
    logging.getLogger("websockets").setLevel(logging.WARNING)
    sim = MarketSimServer(seed=7, speed=1.0).start()
    try:
        client = PolygonClient(sim.rest_url, "bench-key")
        sim.set_faults(latency_ms=LATENCY_MS)
        config = EngineConfig()
        cold, warm, requests = [], [], []
        for _ in range(REPEATS):
            fetcher = ChainFetcher(client, fakeredis.FakeRedis())
            first = fetcher.fetch(TICKER, config, sim.now())
            cold.append(first.seconds)
            requests.append(first.requests)
            warm.append(fetcher.fetch(TICKER, config, sim.now()).seconds)
        full_runs = [_full_pagination(client) for _ in range(REPEATS)]
    finally:
        sim.stop()
    most, where = _max_scan_requests()
    full_s = statistics.median(run[0] for run in full_runs)
    ours_s = statistics.median(cold)
    contracts = full_runs[0][2]
    note = f"{TICKER}: {contracts} contracts, {full_runs[0][1]} pages in full; {LATENCY_MS} ms per request"
    return [
        {
            "name": "marketdata.scan_requests",
            "value": max(requests),
            "unit": "requests",
            "baseline": full_runs[0][1],
            "ratio": None,
            "goal": "<= 8",
            "note": note,
        },
        {
            "name": "marketdata.scan_requests_max",
            "value": most,
            "unit": "requests",
            "baseline": None,
            "ratio": None,
            "goal": "<= 8",
            "note": f"cold first scans of {', '.join(RICHEST)} with their earnings check, every 5th session "
            f"of 2025; the most: {where}",
        },
        {
            "name": "marketdata.full_chain_s",
            "value": round(full_s, 3),
            "unit": "s",
            "baseline": None,
            "ratio": None,
            "goal": None,
            "note": note,
        },
        {
            "name": "marketdata.our_fetch_s",
            "value": round(ours_s, 3),
            "unit": "s",
            "baseline": None,
            "ratio": None,
            "goal": "< 0.5",
            "note": "first scan of the day, nothing cached",
        },
        {
            "name": "marketdata.our_fetch_warm_s",
            "value": round(statistics.median(warm), 3),
            "unit": "s",
            "baseline": None,
            "ratio": None,
            "goal": None,
            "note": "listed expiries cached for the day",
        },
        {
            "name": "marketdata.vs_full_pagination_ratio",
            "value": round(full_s / ours_s, 2),
            "unit": "x",
            "baseline": round(full_s, 3),
            "ratio": round(full_s / ours_s, 2),
            "goal": ">= 5",
        },
    ]
