"""A watch set of thousands on one wildcard subscription: the simulated market over loopback, real Redis."""

from __future__ import annotations

import pytest

from market.clock import set_clock_source
from scanner.stream.subscriptions import WILDCARD, SubscriptionPolicy
from scanner.stream.watchset import WatchSet, publish_watchset_change
from testing.polling import wait_for
from tests.stream.conftest import aggregate, subscribed

pytestmark = pytest.mark.services

T0 = 1_763_650_000_000


def synthetic_names(count: int, start: int = 0) -> list[str]:
    """Names the simulated market does not list (a wildcard covers them as well as listed ones)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return ["Q" + "".join(letters[(i // 26**k) % 26] for k in range(3)) for i in range(start, start + count)]


class MutableWatchSet:
    """A watch set a test changes and announces the way subscriptions and universe refreshes do."""

    def __init__(self, symbols) -> None:
        self.symbols = frozenset(symbols)
        self.loads = 0
        self.names_loaded = 0

    def __call__(self) -> WatchSet:
        self.loads += 1
        return WatchSet(self.symbols)

    def names(self, names: frozenset[str]) -> WatchSet:
        self.names_loaded += len(names)
        return WatchSet(self.symbols & names)

    def change(self, redis_client, symbols) -> None:
        added, removed = set(symbols) - self.symbols, self.symbols - set(symbols)
        self.symbols = frozenset(symbols)
        publish_watchset_change(redis_client, "test", added, removed)


def watching(running, symbols) -> bool:
    return running.consumer.trigger.watched == frozenset(symbols)


def test_the_policy_switches_to_the_wildcard_above_the_threshold_and_back_only_well_below_it():
    # given a threshold of 10 names
    policy = SubscriptionPolicy(10)
    names = [f"N{i}" for i in range(12)]
    # then up to 10 names are held one by one, 11 on the wildcard
    assert policy.channels(set(names[:10])) == set(names[:10])
    assert policy.channels(set(names[:11])) == {WILDCARD}
    # and shrinking to 9 or 8 keeps the wildcard; 7 (below 80 % of 10) goes back to the names
    assert policy.channels(set(names[:9])) == {WILDCARD}
    assert policy.channels(set(names[:8])) == {WILDCARD}
    assert policy.channels(set(names[:7])) == set(names[:7])
    # and an empty watch set holds nothing; None never uses the wildcard
    assert policy.channels(set()) == set()
    assert SubscriptionPolicy(None).channels(set(names)) == set(names)


def test_a_wildcard_consumer_on_the_simulators_own_tape_scans_only_watched_names(market, start_stream):
    # given a consumer watching every other name the simulated market lists, over its threshold of 100
    listed = market.market.symbols()
    watched = set(listed[::2])
    unwatched_name = next(s for s in listed if s not in watched)
    running = start_stream(market.ws_url, watched, wildcard_above=100, min_interval_s=0)
    # then it holds one A.* subscription and the market sends every name's aggregates
    wait_for(lambda: subscribed(market) == {WILDCARD}, what="the wildcard subscribe")
    assert market.stats()["ws_messages_in"] == 2  # auth, one subscribe
    trigger = running.consumer.trigger
    moved_name = sorted(watched)[0]
    wait_for(lambda: trigger.reference(moved_name) is not None, what="the first price of a watched name")
    # when a watched and an unwatched name both jump 3 %
    market.inject_move(moved_name, 3.0)
    market.inject_move(unwatched_name, 3.0)
    wait_for(lambda: any(m.symbol == moved_name for m in running.moves), what="the watched name's move")
    running.stop()
    # then only watched names were scanned, the other names' events were dropped, none took a reference
    assert {m.symbol for m in running.moves} <= watched
    assert trigger.counts.unwatched > 0
    assert trigger.reference(unwatched_name) is None


def test_the_socket_switches_between_names_and_the_wildcard_as_the_watch_set_crosses_the_threshold(
    scripted_market, start_stream, redis_client
):
    # given a threshold of 3 names and a consumer watching AAPL and MSFT
    sim, tape = scripted_market
    watch = MutableWatchSet({"AAPL", "MSFT"})
    running = start_stream(sim.ws_url, load_watch_set=watch, wildcard_above=3)
    wait_for(lambda: subscribed(sim) == {"AAPL", "MSFT"}, what="per-name subscriptions")
    # when the watch set grows to four names
    watch.change(redis_client, {"AAPL", "MSFT", "NVDA", "AMD"})
    # then one wildcard replaces the per-name channels
    wait_for(lambda: subscribed(sim) == {WILDCARD}, what="the wildcard")
    assert running.consumer.stats.wildcard
    # and a name outside the watch set is dropped while a watched one triggers
    tape.send(aggregate("AMD", 100.0, T0), aggregate("TSLA", 100.0, T0), aggregate("TSLA", 110.0, T0 + 1000))
    tape.send(aggregate("AMD", 101.0, T0 + 2000))
    wait_for(lambda: running.moves, what="AMD's move")
    assert [m.symbol for m in running.moves] == ["AMD"]
    # when it shrinks to three (not below 80 % of the threshold): the wildcard stays
    watch.change(redis_client, {"AAPL", "MSFT", "NVDA"})
    wait_for(lambda: watching(running, {"AAPL", "MSFT", "NVDA"}), what="the smaller watch set")
    assert subscribed(sim) == {WILDCARD}
    # when it shrinks to two: back to per-name channels
    watch.change(redis_client, {"AAPL", "NVDA"})
    wait_for(lambda: subscribed(sim) == {"AAPL", "NVDA"}, what="per-name subscriptions again")
    assert not running.consumer.stats.wildcard


def test_watch_set_changes_at_5000_names_send_nothing_on_the_wildcard(scripted_market, start_stream, redis_client):
    # given 5,000 watched names on the default threshold (1,000): one wildcard subscription
    sim, tape = scripted_market
    names = synthetic_names(5_000)
    watch = MutableWatchSet(names)
    running = start_stream(sim.ws_url, load_watch_set=watch, load_watch_names=watch.names, min_interval_s=0)
    wait_for(lambda: subscribed(sim) == {WILDCARD}, what="the wildcard subscribe")
    wait_for(lambda: watching(running, names), what="5,000 watched names")
    wait_for(lambda: running.consumer.stats.full_watch_loads == 2, what="the listener's first load")
    messages_in = sim.stats()["ws_messages_in"]
    assert messages_in == 2  # auth and one subscribe, not 5,000 channels
    # when a universe refresh swaps 500 names and a user follows one more
    refreshed = names[500:] + synthetic_names(500, start=5_000)
    watch.change(redis_client, refreshed)
    wait_for(lambda: watching(running, refreshed), what="the refreshed watch set")
    followed = [*refreshed, "AAPL"]
    watch.change(redis_client, followed)
    wait_for(lambda: watching(running, followed), what="the new follow")
    # then the socket heard nothing more (the wildcard covers every name), and the consumer looked
    # again at the 1,000 swapped names and the new one only, not at the whole set
    assert sim.stats()["ws_messages_in"] == messages_in
    assert subscribed(sim) == {WILDCARD}
    assert running.consumer.stats.full_watch_loads == 2
    assert watch.names_loaded == 1_001
    # and a dropped name is filtered out while an added one triggers
    dropped, added = names[0], refreshed[-1]
    tape.send(aggregate(dropped, 50.0, T0), aggregate(dropped, 60.0, T0 + 1000))
    tape.send(aggregate(added, 50.0, T0), aggregate(added, 51.0, T0 + 1000))
    wait_for(lambda: running.moves, what="the added name's move")
    running.stop()
    assert [m.symbol for m in running.moves] == [added]
    assert running.consumer.trigger.counts.unwatched == 2


@pytest.fixture
def sim_clock(scripted_market):
    """The watch set's universe day is the simulated market's."""
    set_clock_source(scripted_market[0].now)
    yield
    set_clock_source(None)


def test_a_follow_at_5000_watched_names_reads_only_its_own_row(
    transactional_db, scripted_market, sim_clock, start_stream, shared_state_reset
):
    # given 5,000 names followed in the database and a consumer reading its watch set from there
    from accounts.models import Subscription, User
    from scanner.models import Ticker

    trader = User.objects.create_user("trader@example.com", "pw")
    names = synthetic_names(5_000)
    Subscription.objects.bulk_create([Subscription(user=trader, ticker=name) for name in names])
    sim, tape = scripted_market
    running = start_stream(sim.ws_url, min_interval_s=0)
    wait_for(lambda: watching(running, names), timeout=30, what="5,000 watched names")
    wait_for(lambda: running.consumer.stats.full_watch_loads == 2, what="the listener's first load")
    assert subscribed(sim) == {WILDCARD}
    # when the trader follows AAPL (last scanned at 100)
    Ticker.objects.create(symbol="AAPL", last_scan_price=100.0)
    Subscription.objects.create(user=trader, ticker="AAPL")
    # then AAPL is watched from its last scan price after a load of that name alone
    wait_for(lambda: "AAPL" in running.consumer.trigger.watched, what="the new follow")
    stats = running.consumer.stats
    assert stats.partial_watch_loads == 1 and stats.full_watch_loads == 2
    assert running.consumer.trigger.reference("AAPL") == 100.0
    tape.send(aggregate("AAPL", 100.6, T0))
    wait_for(lambda: running.moves, what="AAPL's move")
    assert [(m.symbol, m.reference) for m in running.moves] == [("AAPL", 100.0)]
    # when the trader drops the first name: it leaves the watch set the same way
    Subscription.objects.get(ticker=names[0]).delete()
    wait_for(lambda: names[0] not in running.consumer.trigger.watched, what="the removal")
    assert subscribed(sim) == {WILDCARD}
    running.stop()
    assert stats.partial_watch_loads == 2 and stats.full_watch_loads == 2
