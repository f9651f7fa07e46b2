"""Chain requests of event-driven scanning vs polling, over one simulated session of the discovery universe.

Everything runs against the simulated market (loopback REST, frozen clock set to each moment), no
other services:

* **Watch set**: the 100 most liquid optionable names, picked as ``refresh_universe`` picks them: the
  previous session's grouped daily bars ranked by dollar volume (``rank_candidates``, the configured
  minimum price), then the listed-options check in rank order (``select_optionable``).
* **Prices**: each name's simulated price every second from the open to the close, as the stream's
  per-second aggregates carry it.
* **Event-driven**: the stream consumer's own :class:`MoveTrigger` with the product's trigger rule
  (``STREAM_*`` settings: scan level scaled by each name's volatility and request cost, a smaller 0.5 %
  move scanned at the end of the longest wait, 60 s minimum interval), fed every second and asked for due
  waits every second as the consumer does after each frame; plus the heartbeat every 10 minutes
  rescanning every name not scanned for 60 minutes (it also makes the first scan at the open). As in
  the product, every completed scan (move or heartbeat) moves the trigger's reference to the scan's
  price and hands it the scan's volatility and request count (``publish_scan_reference``).
* **Volatility and cost**, the rule's inputs: the ATM IV the name's cold scan at the open saw (the
  expiry probe's near-the-money IV, first expiry at least a week out: ``atm_volatility``) and the
  requests of the name's last scan (cold for the open's scan, the mean warm cost after).
* **Polling**: every name scanned every 5 minutes from the open.
* **Requests**: the real :class:`ChainFetcher` (the scan's fetch, no reference price, as the scan
  calls it) per name: a cold first scan at the open (expiry listing discovered), then warm scans
  (listing cached for the day) spread over the session; a session costs cold + (scans − 1) × the
  name's mean warm cost, in both modes.
* **Delay**: from the second a name first sits 0.5% away from its price at the last scan to the next
  scan, in market seconds (the worker's own latency is ``bench_e2e``'s business); moves still
  unscanned at the close are left out in both modes. Pooled over every move of every name.

The trade-off table sweeps the rule's parameters (longest wait, reference volatility) and the plain
rule's (threshold, minimum interval): request ratio, scans per name, median / p90 / p99 / worst delay
after a 0.5% move, the first two against polling's. The headline is the product's default rule.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from marketsim.session import NEW_YORK
from scanner.stream.rule import Profile, TriggerRule, atm_volatility
from scanner.stream.trigger import MoveTrigger

SEED = 7
SESSION = date(2025, 3, 4)
WATCHED = 100
POLL_EVERY_S = 300
HEARTBEAT_EVERY_S = 600
HEARTBEAT_STALE_S = 3600
MOVE = 0.005
MIN_INTERVAL_S = 60
WARM_SCAN_OFFSETS_S = (3_600, 9_000, 14_400, 19_800)  # warm fetches 1.5 h apart: refetches included
# The trade-off table: (longest wait s, reference volatility, reference cost) of the rule, then the plain
# rule's (threshold, minimum interval). The waits show the rule's all-or-nothing result (a longer wait
# only saves); the references move the line between the names that wait and those that do not.
SWEEP_RULES = (
    (180, 0.30, 4),
    (600, 0.30, 4),
    (1800, 0.30, 4),
    (3600, 0.20, 4),
    (3600, 0.40, 4),
    (3600, 0.30, 2),
    (3600, 0.30, 8),
    (3600, 0.40, 2),
)
SWEEP_PLAIN = ((0.005, 60), (0.006, 60), (0.0075, 60), (0.005, 300), (0.005, 900))


@dataclass(frozen=True)
class FetchCost:
    cold: int
    warm: float
    vol: float | None  # the ATM IV the cold scan saw

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

    def delay(self, quantile: float) -> float:
        return float(np.quantile(self.delays, quantile)) if self.delays else float("nan")

    @property
    def median_delay(self) -> float:
        return self.delay(0.5)

    @property
    def p90_delay(self) -> float:
        return self.delay(0.9)


def default_rule() -> TriggerRule | None:
    from scanner.stream.service import trigger_rule_from_settings

    return trigger_rule_from_settings()


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


def event_driven_scans(
    prices: np.ndarray, cost: FetchCost, rule: TriggerRule | None, threshold: float, min_interval_s: int
) -> tuple[list[int], int]:
    """Scan seconds (heartbeat and triggered) and how many of them the trigger asked for."""
    trigger = MoveTrigger(threshold, min_interval_s * 1000, rule)
    trigger.watch(["X"])
    scans: list[int] = []
    moves = 0

    def scanned(t: int) -> None:
        # The scan publishes its price, volatility and requests (cold at the open, warm after).
        scans.append(t)
        trigger.follow_scan("X", prices[t], Profile(cost.vol, cost.cold if len(scans) == 1 else cost.warm))

    observe, due = trigger.observe, trigger.due
    for t, price in enumerate(prices.tolist()):
        if t % HEARTBEAT_EVERY_S == 0 and (not scans or t - scans[-1] >= HEARTBEAT_STALE_S):
            scanned(t)
        at_ms = t * 1000
        triggered = observe("X", price, at_ms) is not None or bool(due(at_ms))
        if triggered:
            moves += 1
            if scans[-1] != t:
                scanned(t)
    return scans, moves


def polling_scans(length: int) -> list[int]:
    return list(range(0, length, POLL_EVERY_S))


def move_delays(prices: np.ndarray, scans: list[int]) -> list[int]:
    """For each gap between scans in which the price first sits 0.5% from the last scan's price:
    seconds from that moment to the next scan (0 when the move itself set off the scan)."""
    delays = []
    for start, end in zip(scans, scans[1:]):
        reference = prices[start]
        hits = np.flatnonzero(np.abs(prices[start + 1 : end + 1] - reference) / reference >= MOVE)
        if hits.size:
            delays.append(end - (start + 1 + int(hits[0])))
    return delays


def fetch_costs(sim, client, symbols: list[str]) -> dict[str, FetchCost]:
    """Requests of the real chain fetch per name (cold at the open, then warm through the session) and
    the ATM IV the cold scan saw."""
    import fakeredis

    from scanner.chain_source import ChainFetcher
    from scanner.scanning import engine_config

    config = engine_config()
    fetcher = ChainFetcher(client, fakeredis.FakeRedis())
    opened = datetime.fromtimestamp(sim.market.open_epoch, tz=NEW_YORK)
    costs: dict[str, FetchCost] = {}
    for symbol in symbols:
        counts = []
        vol = None
        for offset in (0, *WARM_SCAN_OFFSETS_S):
            at = opened + timedelta(seconds=offset)
            sim.clock.set(at, speed=0)
            fetched = fetcher.fetch(symbol, config, at)
            counts.append(fetched.requests)
            if offset == 0:
                points = [{"dte": (e - SESSION).days, "atm_iv": iv} for e, iv in fetched.listed_iv.items()]
                vol = atm_volatility(points)
        costs[symbol] = FetchCost(counts[0], statistics.fmean(counts[1:]), vol)
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
    paths: dict[str, np.ndarray],
    costs: dict[str, FetchCost],
    rule: TriggerRule | None,
    threshold: float = MOVE,
    min_interval_s: int = MIN_INTERVAL_S,
) -> ModeResult:
    per_ticker, delays = [], []
    moves = 0
    requests = 0.0
    for symbol, prices in paths.items():
        scans, triggered = event_driven_scans(prices, costs[symbol], rule, threshold, min_interval_s)
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


def _rule_label(wait_s: float, vol: float, cost: float) -> str:
    return f"wait {wait_s:.0f} s, vol {vol:.2f}, cost {cost:g}"


def table_row(label: str, mode: ModeResult, poll: ModeResult) -> str:
    return (
        f"     {label:<40s} {mode.requests / poll.requests:6.3f} {statistics.median(mode.scans_per_ticker):5.0f} "
        f"{mode.median_delay:5.0f} {mode.p90_delay:5.0f} {mode.delay(0.99):5.0f} {max(mode.delays, default=0):5d}"
        f"  {mode.median_delay / poll.median_delay:5.2f} {mode.p90_delay / poll.p90_delay:5.2f}"
    )


def run() -> list[dict]:
    from marketsim.market import Market

    rule = default_rule()
    symbols, costs = watch_set_and_costs()
    market = Market(SEED, SESSION)
    paths = session_prices(market, symbols)
    event = simulate(paths, costs, rule)
    plain = simulate(paths, costs, None)
    poll = polling(paths, costs)
    ratio = event.requests / poll.requests
    vols = [c.vol for c in costs.values() if c.vol is not None]
    print(
        f"   watch set: top {len(symbols)} optionable names by dollar volume ({', '.join(symbols[:6])}, ...); "
        f"ATM IV at the open median {statistics.median(vols):.2f}, "
        f"10-90% {np.quantile(vols, 0.1):.2f}-{np.quantile(vols, 0.9):.2f}"
    )
    print(
        f"   chain requests per scan: cold {statistics.median(c.cold for c in costs.values()):.0f}, "
        f"warm {statistics.median(c.warm for c in costs.values()):.2f} (medians over names; "
        f"{sum(c.warm == 0 for c in costs.values())} names cost nothing warm: no pair fits their expiries)"
    )
    print(
        f"   rule {rule}: {event.scans} scans ({event.move_scans} on a move, the rest heartbeat), "
        f"{event.requests:.0f} requests; polling: {poll.scans} scans, {poll.requests:.0f} requests; "
        f"0.5%-move-to-scan delay median {event.median_delay:.0f} s vs {poll.median_delay:.0f} s, "
        f"p90 {event.p90_delay:.0f} s vs {poll.p90_delay:.0f} s ({len(event.delays)} and {len(poll.delays)} moves)"
    )
    print(
        "   trade-off (requests ÷ polling's, scans/name, delay after a 0.5% move p50 / p90 / p99 / max s, "
        "p50 and p90 ÷ polling's):"
    )
    print(table_row("polling every 5 min", poll, poll))
    print(table_row(f"default: {_rule_label(rule.max_wait_s, rule.reference_vol, rule.reference_cost)}", event, poll))
    for wait, vol, cost in SWEEP_RULES:
        other = simulate(paths, costs, TriggerRule(wait, vol, cost))
        print(table_row(_rule_label(wait, vol, cost), other, poll))
    for threshold, interval in SWEEP_PLAIN:
        other = plain if (threshold, interval) == (MOVE, MIN_INTERVAL_S) else None
        other = other or simulate(paths, costs, None, threshold, interval)
        print(table_row(f"plain {threshold:.2%}, min interval {interval} s", other, poll))
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
            "name": "api.p50_delay_vs_poll",
            "value": round(event.median_delay / poll.median_delay, 2),
            "unit": "x",
            "baseline": poll.median_delay,
            "ratio": None,
            "goal": "< 1",
        },
        {
            "name": "api.p90_delay_vs_poll",
            "value": round(event.p90_delay / poll.p90_delay, 2),
            "unit": "x",
            "baseline": round(poll.p90_delay),
            "ratio": None,
            "goal": "< 1",
        },
        {
            "name": "api.plain_rule_call_ratio",
            "value": round(plain.requests / poll.requests, 3),
            "unit": "x",
            "baseline": None,
            "ratio": None,
            "goal": None,
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
            "name": "api.scans_per_ticker_event",
            "value": float(statistics.median(event.scans_per_ticker)),
            "unit": "scans/session",
            "baseline": float(statistics.median(poll.scans_per_ticker)),
            "ratio": None,
            "goal": None,
        },
    ]
