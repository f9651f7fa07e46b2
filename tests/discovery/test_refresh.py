"""refresh_universe on a database: storage, idempotency, no-data days, the published change."""

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from discovery.models import UniverseExclusion, UniverseSnapshot
from discovery.universe import current_universe_tickers, refresh_universe, tickers_due_for_discovery
from scanner.models import Ticker
from scanner.stream.watchset import WATCHSET_CHANNEL
from tests.discovery.market import InMemoryMarket, bar

FRIDAY = date(2025, 6, 6)
SATURDAY = date(2025, 6, 7)
MONDAY = date(2025, 6, 9)
TUESDAY = date(2025, 6, 10)

pytestmark = pytest.mark.django_db


def market_with(*sessions: tuple[date, list], optionable=("AAA", "BBB", "CCC", "DDD", "EEE")) -> InMemoryMarket:
    return InMemoryMarket(dict(sessions), set(optionable))


FRIDAY_BARS = [
    bar("AAA", 100.0, 5_000_000, vwap=101.0),
    bar("NOOPT", 300.0, 9_000_000),  # the largest dollar volume, but no listed options
    bar("BBB", 50.0, 4_000_000),
    bar("CHEAP", 4.0, 90_000_000),
    bar("CCC", 20.0, 1_000_000),
    bar("DDD", 10.0, 100_000),
]


def test_refresh_stores_the_top_optionable_names_of_the_session():
    # given Friday's bars, where the biggest name has no listed options
    market = market_with((FRIDAY, FRIDAY_BARS))
    # when the top 3 universe is built for Friday
    outcome = refresh_universe(day=FRIDAY, size=3, source=market)
    # then it holds the three most traded optionable names in rank order with their figures
    snapshot = UniverseSnapshot.objects.get()
    members = list(snapshot.members.values_list("rank", "ticker", "volume", "dollar_volume"))
    assert members == [
        (1, "AAA", 5_000_000.0, 505_000_000.0),
        (2, "BBB", 4_000_000.0, 200_000_000.0),
        (3, "CCC", 1_000_000.0, 20_000_000.0),
    ]
    assert snapshot.session_date == FRIDAY == outcome.session_date
    assert snapshot.parameters["size"] == 3 and snapshot.parameters["min_price"] == 5.0
    assert outcome.without_options == ["NOOPT"]
    # and the options answers are recorded on the tickers; CHEAP was never asked about
    assert Ticker.objects.get(symbol="NOOPT").has_options is False
    assert Ticker.objects.get(symbol="AAA").has_options is True
    assert "CHEAP" not in market.options_checks


def test_a_weekend_date_uses_the_last_session_before_it():
    # given bars for Friday only
    market = market_with((FRIDAY, FRIDAY_BARS))
    # when the universe is asked for Saturday
    outcome = refresh_universe(day=SATURDAY, size=2, source=market)
    # then Friday's session is used and stored
    assert outcome.session_date == FRIDAY
    assert list(UniverseSnapshot.objects.values_list("session_date", flat=True)) == [FRIDAY]


def test_rerunning_a_session_keeps_one_snapshot_with_the_new_members():
    # given Friday's universe of 2
    market = market_with((FRIDAY, FRIDAY_BARS))
    refresh_universe(day=FRIDAY, size=2, source=market)
    # when Friday is refreshed again with BBB excluded by an operator
    UniverseExclusion.objects.create(ticker="BBB", reason="halted")
    refresh_universe(day=FRIDAY, size=2, source=market)
    # then there is still one snapshot and BBB is gone from it
    snapshot = UniverseSnapshot.objects.get()
    assert list(snapshot.members.values_list("ticker", flat=True)) == ["AAA", "CCC"]
    assert snapshot.parameters["excluded"] == ["BBB"]


def test_a_session_without_data_keeps_the_previous_universe_and_says_so():
    # given Friday's universe and a Monday for which the vendor has no bars yet
    market = market_with((FRIDAY, FRIDAY_BARS), (MONDAY, []))
    refresh_universe(day=FRIDAY, size=2, source=market)
    # when Monday is refreshed
    outcome = refresh_universe(day=MONDAY, size=2, source=market)
    # then nothing new is stored, Friday's universe is still in force on Tuesday, and the outcome says so
    assert outcome.kept_previous
    assert outcome.session_date == FRIDAY
    assert "No market data for 2025-06-09" in outcome.message and "2025-06-06" in outcome.message
    assert list(UniverseSnapshot.objects.values_list("session_date", flat=True)) == [FRIDAY]
    assert current_universe_tickers(TUESDAY) == ["AAA", "BBB"]


def test_a_late_session_is_built_from_the_one_before_when_there_is_no_universe_yet():
    # given an empty database and a Monday not published yet
    market = market_with((FRIDAY, FRIDAY_BARS), (MONDAY, []))
    # when Monday is refreshed
    outcome = refresh_universe(day=MONDAY, size=2, source=market)
    # then Friday's data gives the first universe, and the outcome says Monday was missing
    assert outcome.session_date == FRIDAY and not outcome.kept_previous
    assert outcome.message.startswith("No market data for 2025-06-09 yet. Universe of 2025-06-06")
    assert current_universe_tickers(TUESDAY) == ["AAA", "BBB"]


def test_no_data_and_no_earlier_universe_is_reported():
    # given an empty database and no bars for several sessions
    market = market_with((MONDAY, []))
    # when it is refreshed
    outcome = refresh_universe(day=MONDAY, size=2, source=market)
    # then nothing is stored and the outcome has no session
    assert outcome.session_date is None and outcome.kept_previous
    assert "no earlier universe" in outcome.message
    assert not UniverseSnapshot.objects.exists()


def test_the_universe_in_force_is_the_newest_on_or_before_the_day():
    # given universes for Friday and Monday
    monday_bars = [bar("EEE", 80.0, 9_000_000), *FRIDAY_BARS]
    market = market_with((FRIDAY, FRIDAY_BARS), (MONDAY, monday_bars))
    refresh_universe(day=FRIDAY, size=2, source=market)
    refresh_universe(day=MONDAY, size=2, source=market)
    # when asked per day
    # then each day sees the newest universe of a session on or before it, none before the first
    assert current_universe_tickers(date(2025, 6, 5)) == []
    assert current_universe_tickers(SATURDAY) == ["AAA", "BBB"]
    assert current_universe_tickers(TUESDAY) == ["EEE", "AAA"]


def test_members_scanned_recently_are_not_due_for_discovery():
    # given a universe of three where AAA was scanned 5 minutes ago and BBB an hour ago
    market = market_with((FRIDAY, FRIDAY_BARS))
    refresh_universe(day=FRIDAY, size=3, source=market)
    now = datetime(2025, 6, 9, 15, 0, tzinfo=UTC)
    Ticker.objects.filter(symbol="AAA").update(last_scan_at=now - timedelta(minutes=5))
    Ticker.objects.filter(symbol="BBB").update(last_scan_at=now - timedelta(hours=1))
    # when asked which members are due with a 27-minute window on Monday
    due = tickers_due_for_discovery(MONDAY, now - timedelta(minutes=27))
    # then the stale and never-scanned members are due, in rank order
    assert due == ["BBB", "CCC"]


def next_message(pubsub, deadline_s: float = 5.0):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is not None:
            return json.loads(message["data"])
    return None


@pytest.mark.services
def test_the_change_is_published_for_the_stream_consumer(
    redis_client, shared_state_reset, django_capture_on_commit_callbacks
):
    # given Friday's universe of 2 and a listener on the watch-set channel
    monday_bars = [bar("EEE", 80.0, 9_000_000), *FRIDAY_BARS]
    market = market_with((FRIDAY, FRIDAY_BARS), (MONDAY, monday_bars))
    with django_capture_on_commit_callbacks(execute=True):
        refresh_universe(day=FRIDAY, size=2, source=market)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(WATCHSET_CHANNEL)
    # when Monday's universe replaces it
    with django_capture_on_commit_callbacks(execute=True):
        refresh_universe(day=MONDAY, size=2, source=market)
    # then one message says what entered and what left
    assert next_message(pubsub) == {"source": "universe", "added": ["EEE"], "removed": ["BBB"]}
    # and re-running Monday (no change) or back-filling Friday publishes nothing
    with django_capture_on_commit_callbacks(execute=True):
        refresh_universe(day=MONDAY, size=2, source=market)
        refresh_universe(day=FRIDAY, size=2, source=market)
    assert next_message(pubsub, deadline_s=0.5) is None
    pubsub.close()


def test_a_dry_run_ranks_but_stores_and_publishes_nothing(django_capture_on_commit_callbacks):
    # given Friday's stored universe of 2
    monday_bars = [bar("EEE", 80.0, 9_000_000), *FRIDAY_BARS]
    market = market_with((FRIDAY, FRIDAY_BARS), (MONDAY, monday_bars))
    refresh_universe(day=FRIDAY, size=2, source=market)
    checked_before = dict(Ticker.objects.values_list("symbol", "options_checked_at"))
    # when Monday's universe is built as a dry run
    with django_capture_on_commit_callbacks() as published:
        outcome = refresh_universe(day=MONDAY, size=2, source=market, store=False)
    # then Monday's ranking comes back
    assert [m.ticker for m in outcome.members] == ["EEE", "AAA"]
    assert outcome.message.endswith("Dry run: nothing stored.") and outcome.change is None
    # and Friday's universe is still the stored one, the options checks untouched, no change on its way out
    assert list(UniverseSnapshot.objects.values_list("session_date", flat=True)) == [FRIDAY]
    assert current_universe_tickers(MONDAY) == ["AAA", "BBB"]
    assert dict(Ticker.objects.values_list("symbol", "options_checked_at")) == checked_before
    assert published == []


def test_a_refresh_updates_the_tickers_traders_may_follow():
    # given a ticker followed earlier that has since lost its options
    from scanner.models import OptionableUnderlying
    from scanner.underlyings import known_optionable

    OptionableUnderlying.objects.create(symbol="NOOPT", refreshed_at=datetime(2025, 6, 1, tzinfo=UTC))
    # when Friday's universe is built
    refresh_universe(day=FRIDAY, size=3, source=market_with((FRIDAY, FRIDAY_BARS)))
    # then the names found with listed options may be followed, the one found without may not
    assert known_optionable(["AAA", "BBB", "CCC", "NOOPT"]) == {"AAA", "BBB", "CCC"}


@pytest.mark.services
def test_every_stocks_close_becomes_its_cold_scans_reference_price(shared_state_reset):
    # given a scan that stored the price it saw for AAA
    from forwardfactor.shared_state import shared_redis

    cache = shared_redis()
    cache.set("ff:chain:spot:AAA", b"104.5")
    # when Friday's universe is refreshed
    refresh_universe(day=FRIDAY, size=2, source=market_with((FRIDAY, FRIDAY_BARS)))
    # then every stock of the session has its close, members or not, and a scan's own price comes first
    closes = {ticker: cache.get(f"ff:chain:close:{ticker}") for ticker in ("NOOPT", "DDD", "AAA")}
    assert closes == {"NOOPT": b"300.0", "DDD": b"10.0", "AAA": b"100.0"}
    assert cache.get("ff:chain:spot:AAA") == b"104.5"
