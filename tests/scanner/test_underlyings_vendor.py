"""The table of optionable underlyings refreshed from the vendor's listing: against the simulated market
over real HTTP, and the vendor's wire format (pages, an error answer) with ``responses``."""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta

import pytest
import responses
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from forwardfactor.celery import app
from forwardfactor.runtime import using_market
from marketsim.server import MarketSimServer
from scanner import tasks
from scanner.models import OptionableUnderlying, Ticker
from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import TransientError
from scanner.underlyings import known_optionable, next_standard_monthly, refresh_from_vendor
from tests.polygon.conftest import API_KEY
from tests.polygon.fake_polygon import BASE_URL

pytestmark = pytest.mark.django_db
SESSION = date(2026, 11, 30)  # a Monday: the next standard monthly is 2026-12-18
CONTRACTS = f"{BASE_URL}/v3/reference/options/contracts"


@pytest.fixture(scope="module")
def sim():
    logging.getLogger("websockets").setLevel(logging.WARNING)
    server = MarketSimServer(seed=7, speed=0, session_date=SESSION).start()
    yield server
    server.stop()


@pytest.fixture
def market(sim, settings):
    settings.OPTIONABLE_UNDERLYINGS_KEEP_DAYS = 5
    with using_market(sim.rest_url, clock=sim.now):
        yield sim


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def sim_optionable(sim: MarketSimServer) -> set[str]:
    return {symbol for symbol, profile in sim.market.profiles.items() if profile.has_options}


def test_the_simulated_markets_own_listings_fill_the_table(market):
    # given an empty table
    asked = market.counters["rest:options_contracts"]

    # when the vendor refresh runs against the simulated market
    outcome = refresh_from_vendor()

    # then every simulated name with options is followable, and only those, in a few pages of 1,000
    assert outcome.expiration == date(2026, 12, 18)
    assert set(OptionableUnderlying.objects.values_list("symbol", flat=True)) == sim_optionable(market)
    assert outcome.listed == outcome.added == outcome.size == len(sim_optionable(market))
    assert market.counters["rest:options_contracts"] - asked == outcome.requests > 1
    assert known_optionable(["NFLX", "SPY", "NOSUCH"]) == {"NFLX", "SPY"}


def test_a_name_leaves_only_after_days_unlisted_and_our_own_checks_stay(market):
    # given rows the vendor listed 10 and 2 days ago but lists no more, one only our scans know,
    # and one unlisted for 10 days that our own options check found listed yesterday
    now = timezone.now()
    for symbol, seen in (("GONE", 10), ("PAUSED", 2), ("CHECKED", 10)):
        OptionableUnderlying.objects.create(
            symbol=symbol, refreshed_at=now - timedelta(days=seen), vendor_seen_at=now - timedelta(days=seen)
        )
    OptionableUnderlying.objects.create(symbol="OURS", refreshed_at=now - timedelta(days=30))
    Ticker.objects.create(symbol="CHECKED", has_options=True, options_checked_at=now - timedelta(days=1))

    # when
    outcome = refresh_from_vendor()

    # then only the long-unlisted vendor row went
    assert outcome.removed == 1
    assert known_optionable(["GONE", "PAUSED", "OURS", "CHECKED"]) == {"PAUSED", "OURS", "CHECKED"}


def test_a_second_refresh_adds_nothing_and_moves_the_sighting(market):
    refresh_from_vendor()
    first = OptionableUnderlying.objects.get(symbol="SPY").vendor_seen_at
    again = refresh_from_vendor()
    assert again.added == again.removed == 0
    assert OptionableUnderlying.objects.get(symbol="SPY").vendor_seen_at >= first


def test_a_failed_refresh_keeps_the_table_as_it_was(mocked, sleeps, settings):
    # given a table and a vendor whose second page keeps failing
    settings.OPTIONABLE_UNDERLYINGS_KEEP_DAYS = 5
    long_ago = timezone.now() - timedelta(days=30)
    OptionableUnderlying.objects.create(symbol="OLD", refreshed_at=long_ago, vendor_seen_at=long_ago)
    row = {"underlying_ticker": "AAPL", "expiration_date": "2026-12-18", "contract_type": "call"}
    mocked.get(CONTRACTS, json={"results": [row], "next_url": f"{CONTRACTS}?cursor=p2"})
    mocked.get(f"{CONTRACTS}?cursor=p2", status=502, body="bad gateway")
    client = PolygonClient(BASE_URL, API_KEY, sleep=sleeps.append)

    # when / then the error reaches the caller (the task retries) and nothing changed
    with pytest.raises(TransientError):
        refresh_from_vendor(client, expiration=date(2026, 12, 18))
    assert list(OptionableUnderlying.objects.values_list("symbol", "vendor_seen_at")) == [("OLD", long_ago)]


def test_a_vendor_answer_in_pages_is_upserted(mocked):
    # given the vendor's two pages
    rows = [{"underlying_ticker": symbol} for symbol in ("AAPL", "AAPL", "MSFT")]
    mocked.get(CONTRACTS, json={"results": rows[:2], "next_url": f"{CONTRACTS}?cursor=p2"})
    mocked.get(f"{CONTRACTS}?cursor=p2", json={"results": rows[2:], "status": "OK"})

    # when
    outcome = refresh_from_vendor(PolygonClient(BASE_URL, API_KEY), expiration=date(2026, 12, 18))

    # then
    assert (outcome.listed, outcome.added, outcome.requests) == (2, 2, 2)
    assert known_optionable(["AAPL", "MSFT"]) == {"AAPL", "MSFT"}


@pytest.mark.parametrize(
    ("today", "monthly"),
    [
        (date(2026, 11, 30), date(2026, 12, 18)),
        (date(2026, 12, 18), date(2027, 1, 15)),  # expiring today: the next one
        (date(2026, 12, 28), date(2027, 1, 15)),  # across the year
        (date(2026, 6, 1), date(2026, 6, 18)),  # Juneteenth Friday: the Thursday before
        (date(2026, 3, 19), date(2026, 3, 20)),
    ],
)
def test_the_next_standard_monthly(today, monthly):
    assert next_standard_monthly(today) == monthly


def test_the_task_and_its_daily_beat_entry(market):
    task = app.tasks[tasks.refresh_optionable_underlyings.name]
    assert task.queue == "scan" and task.max_retries == 5
    assert task.apply().get()["size"] == len(sim_optionable(market))
    entry = PeriodicTask.objects.get(name="optionable underlyings: refresh from the vendor")
    assert entry.task == task.name
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week) == ("30", "7", "*")


def test_the_command_reports_progress_and_the_outcome(market):
    out, err = io.StringIO(), io.StringIO()
    call_command("refresh_underlyings", stdout=out, stderr=err)
    assert "page 1:" in err.getvalue()
    assert f"{len(sim_optionable(market))} in the table" in out.getvalue()


def test_the_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("refresh_underlyings", "--expiration", "next friday")
