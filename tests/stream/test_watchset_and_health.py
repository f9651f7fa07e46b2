"""Watch-set changes reach the live socket; the heartbeat task; the health check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from market.clock import set_clock_source
from testing.polling import wait_for
from tests.stream.conftest import subscribed

pytestmark = pytest.mark.services

SATURDAY_NOON = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture
def sim_clock(market):
    set_clock_source(market.now)
    yield
    set_clock_source(None)


@pytest.fixture
def trader(transactional_db):
    from accounts.models import User

    return User.objects.create_user("trader@example.com", "pw")


def test_a_subscription_saved_in_the_database_reaches_the_socket_within_2_seconds(
    market, sim_clock, trader, start_stream, shared_state_reset
):
    # given a consumer reading the watch set from the database (AAPL subscribed)
    from accounts.models import Subscription

    Subscription.objects.create(user=trader, ticker="AAPL")
    start_stream(market.ws_url)
    wait_for(lambda: "AAPL" in subscribed(market), what="the initial subscribe")
    # when a user subscribes to MSFT
    Subscription.objects.create(user=trader, ticker="msft")
    # then the market sees the subscribe within 2 s
    wait_for(lambda: "MSFT" in subscribed(market), timeout=2.0, what="MSFT on the socket")


def test_a_deleted_subscription_is_unsubscribed(market, sim_clock, trader, start_stream, shared_state_reset):
    # given AAPL and MSFT subscribed and streaming
    from accounts.models import Subscription

    Subscription.objects.create(user=trader, ticker="AAPL")
    msft = Subscription.objects.create(user=trader, ticker="MSFT")
    start_stream(market.ws_url)
    wait_for(lambda: {"AAPL", "MSFT"} <= subscribed(market), what="the initial subscribe")
    # when the MSFT subscription is deleted
    msft.delete()
    # then the socket unsubscribes MSFT and keeps AAPL
    wait_for(lambda: subscribed(market) == {"AAPL"}, what="the unsubscribe")


def test_a_universe_change_message_reaches_the_socket(market, sim_clock, trader, start_stream, shared_state_reset):
    # given a streaming consumer with no subscriptions
    from discovery.models import UniverseMember, UniverseSnapshot
    from forwardfactor.shared_state import shared_redis
    from scanner.stream.watchset import publish_watchset_change

    running = start_stream(market.ws_url)
    wait_for(lambda: running.consumer.state == "streaming", what="streaming")
    # when discovery stores a universe with AMD and announces it
    snapshot = UniverseSnapshot.objects.create(session_date=market.session_date)
    UniverseMember.objects.create(snapshot=snapshot, rank=1, ticker="AMD", volume=1e6, dollar_volume=1e8)
    publish_watchset_change(shared_redis(), "universe", ["AMD"], [])
    # then AMD is subscribed
    wait_for(lambda: "AMD" in subscribed(market), what="AMD on the socket")


def test_the_heartbeat_enqueues_only_stale_watched_tickers(trader, market, sim_clock, settings):
    # given three subscribed tickers: one scanned 10 minutes ago, one 2 hours ago, one never
    from accounts.models import Subscription
    from scanner.models import Ticker
    from scanner.stream.heartbeat import stale_tickers
    from scanner.stream.watchset import load_watch_set

    for symbol in ("AAPL", "MSFT", "NVDA"):
        Subscription.objects.create(user=trader, ticker=symbol)
    now = timezone.now()
    Ticker.objects.create(symbol="AAPL", last_scan_at=now - timedelta(minutes=10))
    Ticker.objects.create(symbol="MSFT", last_scan_at=now - timedelta(hours=2))
    # when the heartbeat looks for tickers not scanned in 60 minutes
    due = stale_tickers(load_watch_set().symbols, now - timedelta(minutes=60))
    # then MSFT and NVDA are due
    assert due == ["MSFT", "NVDA"]


def test_the_watch_set_carries_each_tickers_volatility_and_cost_from_its_last_scan(trader, market, sim_clock):
    # given AAPL scanned (5 requests; ATM IV 45 % two days out, 31 % eleven days out) and MSFT never
    from accounts.models import Subscription
    from scanner.models import Scan, Ticker
    from scanner.stream.rule import Profile
    from scanner.stream.watchset import load_watch_set

    for symbol in ("AAPL", "MSFT"):
        Subscription.objects.create(user=trader, ticker=symbol)
    points = [
        {"expiry": "2026-12-02", "dte": 2, "atm_iv": 0.45, "source": "chain"},
        {"expiry": "2026-12-11", "dte": 11, "atm_iv": 0.31, "source": "probe"},
    ]
    scan = Scan.objects.create(
        ticker="AAPL", reason="move", started_at=timezone.now(), requests=5, term_structure=points
    )
    Ticker.objects.create(symbol="AAPL", last_scan=scan, last_scan_price=100.0)
    # when the consumer loads the watch set
    watch = load_watch_set()
    # then AAPL's trigger profile is the settled expiry's IV and the scan's requests; MSFT has none
    assert watch.symbols == {"AAPL", "MSFT"}
    assert watch.profiles == {"AAPL": Profile(0.31, 5.0)}


def test_the_heartbeat_does_nothing_outside_a_session(trader):
    # given a Saturday by the data source's clock and a subscribed ticker
    from accounts.models import Subscription
    from scanner.tasks import stream_heartbeat

    Subscription.objects.create(user=trader, ticker="AAPL")
    set_clock_source(lambda: SATURDAY_NOON)
    try:
        # when the heartbeat runs
        outcome = stream_heartbeat.run()
    finally:
        set_clock_source(None)
    # then it enqueues nothing
    assert outcome == {"enqueued": 0, "skipped": "market closed"}


def test_the_health_check_passes_while_the_consumer_runs_and_fails_after(
    market, start_stream, redis_client, shared_state_reset, capsys
):
    # given a running consumer
    running = start_stream(market.ws_url, {"AAPL"})
    wait_for(lambda: running.consumer.state == "streaming", what="streaming")
    from scanner.stream.health import read_health

    wait_for(lambda: (read_health(redis_client) or {}).get("state") == "streaming", what="a streaming heartbeat")
    # when the health check runs
    call_command("stream", "--check")
    # then it passes; and after the consumer stops, it fails with one line
    assert "ok: streaming" in capsys.readouterr().out
    running.stop()
    with pytest.raises(CommandError, match="stopped"):
        call_command("stream", "--check")
