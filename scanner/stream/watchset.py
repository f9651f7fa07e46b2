"""The watch set: tickers with at least one subscription ∪ the current discovery universe.

Changes are announced on the Redis pub/sub channel ``ff:watchset`` (JSON ``{"source", "added",
"removed"}``) by subscription saves/deletes and universe refreshes. The consumer looks again at the
names a message carries only (a follow costs one row, not the 5,000 of a market-sized watch set),
recomputes the whole set on a message it cannot read, and reconciles against the database every few
minutes in case a message was missed (or a subscription's ticker was edited: only the new one is
announced).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import orjson
import redis

from scanner.stream.rule import Profile, atm_volatility

WATCHSET_CHANNEL = "ff:watchset"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchSet:
    symbols: frozenset[str]
    thresholds: dict[str, float] = field(default_factory=dict)
    last_scan_prices: dict[str, float] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)  # from each ticker's last scan


def load_watch_set(only: Collection[str] | None = None) -> WatchSet:
    """The watch set, move thresholds, last scan prices and the trigger rule's inputs (the last scan's
    ATM volatility and chain requests) from the database (blocking: call off the loop). With ``only``,
    just those names: the result holds the ones still watched."""
    from accounts.models import Subscription
    from market.clock import market_now, trading_day
    from scanner.models import Ticker
    from scanner.universe_view import universe

    subscribed = Subscription.objects.all()
    if only is not None:
        only = frozenset(only)
        subscribed = subscribed.filter(ticker__in=only)
    symbols = set(subscribed.values_list("ticker", flat=True).distinct())
    members = universe().tickers(trading_day(market_now()))
    symbols.update(members if only is None else (ticker for ticker in members if ticker in only))
    thresholds: dict[str, float] = {}
    last_scan_prices: dict[str, float] = {}
    profiles: dict[str, Profile] = {}
    rows = Ticker.objects.filter(symbol__in=symbols).values_list(
        "symbol", "move_threshold", "last_scan_price", "last_scan__requests", "last_scan__term_structure"
    )
    for symbol, threshold, price, requests, term_structure in rows:
        if threshold is not None:
            thresholds[symbol] = threshold
        if price is not None:
            last_scan_prices[symbol] = price
        vol = atm_volatility(term_structure)
        if vol is not None:
            profiles[symbol] = Profile(vol, float(requests) if requests is not None else None)
    return WatchSet(frozenset(symbols), thresholds, last_scan_prices, profiles)


def changed_names(message: bytes) -> frozenset[str] | None:
    """The names an ``ff:watchset`` message says changed; None when it cannot be read (look at all)."""
    try:
        body = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    names: set[str] = set()
    for key in ("added", "removed"):
        listed = body.get(key, [])
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            return None
        names.update(listed)
    return frozenset(names)


def publish_watchset_change(
    client: redis.Redis, source: str, added: Iterable[str] = (), removed: Iterable[str] = ()
) -> None:
    message = {"source": source, "added": sorted(added), "removed": sorted(removed)}
    try:
        client.publish(WATCHSET_CHANNEL, orjson.dumps(message))
    except redis.RedisError as exc:
        # The consumer's periodic reconciliation picks the change up; a save must not fail for this.
        log.warning("could not publish watch-set change %s: %s", message, exc)
