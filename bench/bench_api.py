"""Chain requests of event-driven scanning vs polling, over one simulated session of the discovery universe.

Everything runs against the simulated market (loopback REST, frozen clock set to each moment), no
other services:

* **Watch set**: the 100 most liquid optionable names, picked as ``refresh_universe`` picks them: the
  previous session's grouped daily bars ranked by dollar volume (``rank_candidates``, the configured
  minimum price), then the listed-options check in rank order (``select_optionable``).
* **Prices**: each name's simulated price every second from the open to the close, as the stream's
  per-second aggregates carry it.
* **Event-driven**: the stream consumer's own :class:`MoveTrigger` (0.5%, 60 s minimum interval) on
  those prices, plus the heartbeat every 10 minutes rescanning every name not scanned for 60 minutes
  (it also makes the first scan at the open). As in the consumer, only a triggered scan moves the
  trigger's reference; a heartbeat scan does not.
* **Polling**: every name scanned every 5 minutes from the open.
* **Requests**: the real :class:`ChainFetcher` (the scan's fetch, no reference price, as the scan
  calls it) per name: a cold first scan at the open (expiry listing discovered), then warm scans
  (listing cached for the day) spread over the session; a session costs cold + (scans − 1) × the
  name's mean warm cost, in both modes.
* **Delay**: from the second a name first sits 0.5% away from its price at the last scan to the next
  scan, in market seconds (the worker's own latency is ``bench_e2e``'s business); moves still
  unscanned at the close are left out in both modes.

A sweep of the event-driven settings (threshold, minimum interval) shows what a lower ratio would
cost in delay; it is printed, not tuned into the headline figure.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from marketsim.session import NEW_YORK
from scanner.stream.trigger import MoveTrigger

SEED = 7
SESSION = date(2025, 3, 4)
WATCHED = 100
POLL_EVERY_S = 300
HEARTBEAT_EVERY_S = 600
HEARTBEAT_STALE_S = 3600
THRESHOLD = 0.005
MIN_INTERVAL_S = 60
WARM_SCAN_OFFSETS_S = (3_600, 9_000, 14_400, 19_800)  # warm fetches 1.5 h apart: refetches included
SWEEP_THRESHOLDS = (0.006, 0.0075, 0.01, 0.015)
SWEEP_MIN_INTERVALS_S = (300, 900)


@dataclass(frozen=True)
class FetchCost:
    cold: int
    warm: float

    def session(self, scans: int) -> float:
        return self.cold + (scans - 1) * self.warm if scans else 0.0


@dataclass(frozen=True)
class ModeResult:
    scans_per_ticker: list[int]
    move_scans: int
    requests: float
    delays: list[int]

    @property
    def scans(self) -> int:
        return sum(self.scans_per_ticker)

    @property
    def median_delay(self) -> float:
        return float(statistics.median(self.delays)) if self.delays else float("nan")

    @property
    def p90_delay(self) -> float:
        return float(np.quantile(self.delays, 0.9)) if self.delays else float("nan")


def discovery_universe(client, size: int) -> list[str]:
    """The top ``size`` optionable names by the previous session's dollar volume, as a refresh ranks them."""
    from django.conf import settings

    from discovery.universe import rank_candidates, select_optionable
    from market.calendar import session_before

    grouped = client.grouped_daily(session_before(SESSION))
    candidates = rank_candidates(grouped.bars, float(settings.UNIVERSE_MIN_PRICE), set())
    members, _ = select_optionable(candidates, size, client.has_listed_options)
    return [m.ticker for m in members]


def session_prices(market, symbols: list[str]) -> dict[str, np.ndarray]:
    """Each name's price at every second of the regular session (index = seconds since the open)."""
    seconds = range(int(market.close_epoch - market.open_epoch))
    return {s: np.array([market.spot(s, market.open_epoch + t) for t in seconds]) for s in symbols}


def event_driven_scans(prices: np.ndarray, threshold: float, min_interval_s: int) -> tuple[list[int], int]:
    """Scan seconds (heartbeat and triggered) and how many of them the trigger asked for."""
    trigger = MoveTrigger(threshold, min_interval_s * 1000)
    trigger.watch(["X"], references={"X": float(prices[0])})
    scans: list[int] = []
    moves = 0
    last_scan: int | None = None
    for t, price in enumerate(prices.tolist()):
        if t % HEARTBEAT_EVERY_S == 0 and (last_scan is None or t - last_scan >= HEARTBEAT_STALE_S):
            scans.append(t)
            last_scan = t
        if trigger.observe("X", price, t * 1000) is not None:
            moves += 1
            if last_scan != t:
                scans.append(t)
            last_scan = t
    return scans, moves


def polling_scans(length: int) -> list[int]:
    return list(range(0, length, POLL_EVERY_S))


def move_delays(prices: np.ndarray, scans: list[int]) -> list[int]:
    """For each gap between scans in which the price first sits 0.5% from the last scan's price:
    seconds from that moment to the next scan (0 when the move itself set off the scan)."""
    delays = []
    for start, end in zip(scans, scans[1:]):
        reference = prices[start]
        hits = np.flatnonzero(np.abs(prices[start + 1 : end + 1] - reference) / reference >= THRESHOLD)
        if hits.size:
            delays.append(end - (start + 1 + int(hits[0])))
    return delays


def fetch_costs(sim, client, symbols: list[str]) -> dict[str, FetchCost]:
    """Requests of the real chain fetch per name: cold at the open, then warm through the session."""
    import fakeredis

    from scanner.chain_source import ChainFetcher
    from scanner.scanning import engine_config

    config = engine_config()
    fetcher = ChainFetcher(client, fakeredis.FakeRedis())
    opened = datetime.fromtimestamp(sim.market.open_epoch, tz=NEW_YORK)
    costs: dict[str, FetchCost] = {}
    for symbol in symbols:
        counts = []
        for offset in (0, *WARM_SCAN_OFFSETS_S):
            at = opened + timedelta(seconds=offset)
            sim.clock.set(at, speed=0)
            counts.append(fetcher.fetch(symbol, config, at).requests)
        costs[symbol] = FetchCost(counts[0], statistics.fmean(counts[1:]))
    return costs


def watch_set_and_costs() -> tuple[list[str], dict[str, FetchCost]]:
    from marketsim.server import MarketSimServer
    from scanner.polygon.client import PolygonClient

    with MarketSimServer(seed=SEED, speed=0, session_date=SESSION) as sim:
        client = PolygonClient(sim.rest_url, "bench-api")
        try:
            symbols = discovery_universe(client, WATCHED)
            return symbols, fetch_costs(sim, client, symbols)
        finally:
            client.close()


def simulate(
    paths: dict[str, np.ndarray], costs: dict[str, FetchCost], threshold: float, min_interval_s: int
) -> ModeResult:
    per_ticker, delays = [], []
    moves = 0
    requests = 0.0
    for symbol, prices in paths.items():
        scans, triggered = event_driven_scans(prices, threshold, min_interval_s)
        per_ticker.append(len(scans))
        moves += triggered
        requests += costs[symbol].session(len(scans))
        delays += move_delays(prices, scans)
    return ModeResult(per_ticker, moves, requests, delays)


def polling(paths: dict[str, np.ndarray], costs: dict[str, FetchCost]) -> ModeResult:
    per_ticker, delays = [], []
    requests = 0.0
    for symbol, prices in paths.items():
        scans = polling_scans(prices.size)
        per_ticker.append(len(scans))
        requests += costs[symbol].session(len(scans))
        delays += move_delays(prices, scans)
    return ModeResult(per_ticker, 0, requests, delays)


def run() -> list[dict]:
    from marketsim.market import Market

    symbols, costs = watch_set_and_costs()
    market = Market(SEED, SESSION)
    paths = session_prices(market, symbols)
    event = simulate(paths, costs, THRESHOLD, MIN_INTERVAL_S)
    poll = polling(paths, costs)
    ratio = event.requests / poll.requests
    vols = [market.profile(s).volatility for s in symbols]
    print(
        f"   watch set: top {len(symbols)} optionable names by dollar volume ({', '.join(symbols[:6])}, ...); "
        f"annual volatility median {statistics.median(vols):.2f}, "
        f"10-90% {np.quantile(vols, 0.1):.2f}-{np.quantile(vols, 0.9):.2f}"
    )
    print(
        f"   chain requests per scan: cold {statistics.median(c.cold for c in costs.values()):.0f}, "
        f"warm {statistics.median(c.warm for c in costs.values()):.2f} (medians over names)"
    )
    print(
        f"   event-driven: {event.scans} scans ({event.move_scans} on a move, the rest heartbeat), "
        f"{event.requests:.0f} requests, median {statistics.median(event.scans_per_ticker):.0f} scans/ticker; "
        f"polling: {poll.scans} scans, {poll.requests:.0f} requests, {statistics.median(poll.scans_per_ticker):.0f} "
        f"scans/ticker; median 0.5%-move-to-scan delay {event.median_delay:.0f} s vs {poll.median_delay:.0f} s "
        f"({len(event.delays)} and {len(poll.delays)} moves)"
    )
    print(f"   p90 delay {event.p90_delay:.0f} s vs {poll.p90_delay:.0f} s")
    print("   sweep (threshold, min interval -> request ratio, scans/ticker, median / p90 delay after a 0.5% move):")
    sweep = [(t, MIN_INTERVAL_S) for t in SWEEP_THRESHOLDS] + [(THRESHOLD, i) for i in SWEEP_MIN_INTERVALS_S]
    for threshold, interval in sweep:
        other = simulate(paths, costs, threshold, interval)
        print(
            f"     {threshold:.2%}, {interval:>3d} s -> {other.requests / poll.requests:.3f}, "
            f"{statistics.median(other.scans_per_ticker):.0f}, {other.median_delay:.0f} / {other.p90_delay:.0f} s"
        )
    return [
        {
            "name": "api.event_vs_poll_call_ratio",
            "value": round(ratio, 3),
            "unit": "x",
            "baseline": round(poll.requests),
            "ratio": None,
            "goal": "<= 0.2",
        },
        {
            "name": "api.move_to_scan_delay_event_s",
            "value": event.median_delay,
            "unit": "s (market)",
            "baseline": poll.median_delay,
            "ratio": None,
            "goal": None,
        },
        {
            "name": "api.move_to_scan_delay_poll_s",
            "value": poll.median_delay,
            "unit": "s (market)",
            "baseline": None,
            "ratio": None,
            "goal": None,
        },
        {
            "name": "api.scans_per_ticker_event",
            "value": float(statistics.median(event.scans_per_ticker)),
            "unit": "scans/session",
            "baseline": float(statistics.median(poll.scans_per_ticker)),
            "ratio": None,
            "goal": None,
        },
        {
            "name": "api.scans_per_ticker_poll",
            "value": float(statistics.median(poll.scans_per_ticker)),
            "unit": "scans/session",
            "baseline": None,
            "ratio": None,
            "goal": None,
        },
    ]
