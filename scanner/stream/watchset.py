"""The watch set: tickers with at least one subscription ∪ the current discovery universe.

Changes are announced on the Redis pub/sub channel ``ff:watchset`` (JSON ``{"source", "added",
"removed"}``) by subscription saves/deletes and universe refreshes; the consumer treats a message as
"recompute now" and reconciles against the database every few minutes in case one was missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import orjson
import redis

WATCHSET_CHANNEL = "ff:watchset"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchSet:
    symbols: frozenset[str]
    thresholds: dict[str, float] = field(default_factory=dict)


def load_watch_set(universe_max_age_days: int) -> WatchSet:
    """Read the watch set and per-ticker move thresholds from the database (call from a worker thread)."""
    from accounts.models import Subscription
    from scanner.market_clock import market_now
    from scanner.models import Ticker, UniverseMember, UniverseSnapshot

    symbols = set(Subscription.objects.values_list("ticker", flat=True).distinct())
    oldest = (market_now() - timedelta(days=universe_max_age_days)).date()
    snapshot = UniverseSnapshot.objects.filter(session_date__gte=oldest).order_by("-session_date").first()
    if snapshot is not None:
        symbols.update(UniverseMember.objects.filter(snapshot=snapshot).values_list("ticker", flat=True))
    thresholds = dict(
        Ticker.objects.filter(symbol__in=symbols, move_threshold__isnull=False).values_list("symbol", "move_threshold")
    )
    return WatchSet(frozenset(symbols), thresholds)


def publish_watchset_change(client: redis.Redis, source: str, added: Iterable[str] = (),
                            removed: Iterable[str] = ()) -> None:
    message = {"source": source, "added": sorted(added), "removed": sorted(removed)}
    try:
        client.publish(WATCHSET_CHANNEL, orjson.dumps(message))
    except redis.RedisError as exc:
        # The consumer's periodic reconciliation picks the change up; a save must not fail for this.
        log.warning("could not publish watch-set change %s: %s", message, exc)
