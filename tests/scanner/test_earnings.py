"""Earnings from the vendor: the refresh's merge with imported rows, what a trader is told (known, none
listed, unknown), the dates the engine gets, the daily beat task and a first-seen ticker's scan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from forwardfactor.celery import app
from forwardfactor.schedules import EARNINGS_SCHEDULE, install_schedule
from scanner import tasks
from scanner.earnings import EarningsState, earnings_for, engine_earnings, refresh_earnings
from scanner.models import EarningsEvent, Scan, Ticker
from scanner.scanning import scan_and_alert
from testing.factories import user

pytestmark = pytest.mark.django_db
SESSION = date(2025, 3, 10)  # a Monday


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    """The simulated market of a pinned session with a frozen clock, as this process's market."""
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, speed=0, session_date=SESSION).start()
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def vendor_rows(sim) -> dict[str, dict]:
    from tests.marketsim.conftest import follow

    return {row["ticker"]: row for row in follow(sim, "/benzinga/v1/earnings", limit=1000)}


def test_the_refresh_stores_the_vendors_dates_beside_the_imported_ones(sim):
    # given an event name with an imported row on the vendor's date, an imported date of a name the
    # vendor knows nothing of, and a vendor date that has since moved
    listed = vendor_rows(sim)
    name = sorted(listed)[0]
    reported = date.fromisoformat(listed[name]["date"])
    EarningsEvent.objects.create(ticker=name, date=reported, expected_move=0.06, source="csv")
    EarningsEvent.objects.create(ticker="SPY", date=SESSION + timedelta(days=40), source="nasdaq")
    EarningsEvent.objects.create(ticker=name, date=SESSION + timedelta(days=60), source=EarningsEvent.VENDOR)

    # when the vendor is asked about both, and a name it lists nothing for
    refresh = refresh_earnings([name, "spy", "AAPL"])

    # then the imported row keeps its source and move and gains the vendor's time and status
    assert (refresh.answered, refresh.requests, refresh.removed) == (True, 1, 1)
    event = EarningsEvent.objects.get(ticker=name)
    assert (event.date, event.source, event.expected_move) == (reported, "csv", 0.06)
    assert event.status == listed[name]["date_status"]
    assert event.time_of_day in (EarningsEvent.TimeOfDay.BEFORE_OPEN, EarningsEvent.TimeOfDay.AFTER_CLOSE)
    assert EarningsEvent.objects.filter(ticker="SPY", source="nasdaq").exists()
    assert set(Ticker.objects.values_list("symbol", "earnings_answer")) == {
        (name, "vendor"),
        ("SPY", "vendor"),
        ("AAPL", "vendor"),
    }
    # and a trader reads the date, the imported one, and "none listed" for the name without one
    assert earnings_for(name).state == EarningsState.KNOWN
    assert earnings_for("SPY").events[0].source == "nasdaq"
    assert (
        earnings_for("AAPL").describe() == f"No earnings date listed through {SESSION + timedelta(days=120)} (vendor)"
    )


def test_a_second_refresh_adds_nothing(sim):
    # given the calendar stored once
    names = sorted(vendor_rows(sim))[:5]
    refresh_earnings(names)
    stored = list(EarningsEvent.objects.values_list("ticker", "date", "time_of_day", "status", "source"))

    # when the refresh runs again (a redelivered task)
    again = refresh_earnings(names)

    # then
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert list(EarningsEvent.objects.values_list("ticker", "date", "time_of_day", "status", "source")) == stored
    assert len(stored) == 5 and {row[4] for row in stored} == {"vendor"}


def test_a_plan_without_earnings_reads_unknown_or_falls_back_to_imported_rows(sim):
    # given a plan without the vendor's earnings and an imported date for one name
    sim.set_faults(earnings_not_authorized=True)
    EarningsEvent.objects.create(ticker="MSFT", date=SESSION + timedelta(days=30), expected_move=0.04, source="csv")

    # when the refresh runs
    refresh = refresh_earnings(["AAPL", "MSFT"])

    # then it is recorded, not raised; a name without rows is unknown, never "no earnings"
    assert (refresh.answered, refresh.requests) == (False, 1)
    assert Ticker.objects.get(symbol="AAPL").earnings_answer == "not_entitled"
    status = earnings_for("AAPL")
    assert status.state == EarningsState.UNKNOWN
    assert status.describe() == "Earnings date unknown (the market-data plan has no earnings dates)"
    imported = earnings_for("MSFT")
    assert imported.state == EarningsState.KNOWN
    assert imported.describe() == f"Earnings {SESSION + timedelta(days=30)} time not known (status not stated; csv)"


def test_a_ticker_never_asked_about_or_asked_long_ago_is_unknown():
    # given one name never checked and one the vendor answered for a week ago
    at = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    Ticker.objects.create(symbol="OLD", earnings_checked_at=at - timedelta(days=7), earnings_answer="vendor")

    # then neither reads as "no earnings"
    assert earnings_for("NEW", at).describe() == "Earnings date unknown (not checked with the vendor yet)"
    assert earnings_for("OLD", at).describe() == "Earnings date unknown (last checked 2025-03-03)"


def test_the_engine_dates_a_report_by_the_session_that_trades_on_it():
    # given reports before the open, after a Friday close, at an unknown time, and one already past
    at = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # Monday 11:00 New York
    for day, when in (
        (date(2025, 3, 12), EarningsEvent.TimeOfDay.BEFORE_OPEN),
        (date(2025, 3, 14), EarningsEvent.TimeOfDay.AFTER_CLOSE),  # Friday: moves Monday the 17th
        (date(2025, 4, 17), EarningsEvent.TimeOfDay.AFTER_CLOSE),  # before Good Friday: moves the 21st
        (date(2025, 3, 10), EarningsEvent.TimeOfDay.AFTER_CLOSE),  # tonight: moves tomorrow
        (date(2025, 3, 10), EarningsEvent.TimeOfDay.UNKNOWN),
    ):
        EarningsEvent.objects.get_or_create(ticker="ACME", date=day, defaults={"time_of_day": when})

    # when
    dates = [event.date for event in engine_earnings("ACME", at)]

    # then
    assert dates == [date(2025, 3, 11), date(2025, 3, 12), date(2025, 3, 17), date(2025, 4, 21)]


def test_the_beat_task_refreshes_every_watched_ticker(sim):
    # given two followed names, one with a listed report
    name = sorted(vendor_rows(sim))[0]
    user("follower@x.test", follows=(name, "AAPL"))

    # when the beat's task runs
    result = tasks.refresh_earnings.apply().get()

    # then both were asked about in one request and the report is stored
    assert (result["tickers"], result["answered"], result["requests"]) == (2, True, 1)
    assert set(Ticker.objects.values_list("symbol", "earnings_answer")) == {(name, "vendor"), ("AAPL", "vendor")}
    assert EarningsEvent.objects.get(ticker=name).source == "vendor"


def test_the_beat_runs_the_refresh_at_eight_new_york_on_weekdays():
    # when the data migration's schedule is installed (again: idempotent)
    install_schedule(CrontabSchedule, PeriodicTask, EARNINGS_SCHEDULE)

    # then one entry names the registered task, on the scan queue
    entry = PeriodicTask.objects.get(name="earnings: refresh from the vendor")
    crontab = entry.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week, str(crontab.timezone)) == (
        "0",
        "8",
        "1-5",
        "America/New_York",
    )
    assert entry.task in app.tasks and app.tasks[entry.task].queue == "scan"


def test_a_first_seen_tickers_scan_asks_for_its_earnings_once(sim):
    # given an event name nobody has scanned
    name = sorted(vendor_rows(sim))[0]
    asked_before = sim.counters["rest:benzinga_earnings"]

    # when it is scanned twice
    first = scan_and_alert(name, owner="first")
    second = scan_and_alert(name, owner="second")

    # then only the first scan asked, counted in its requests, and its signals know the report
    assert sim.counters["rest:benzinga_earnings"] == asked_before + 1
    assert first.outcome == second.outcome == Scan.Outcome.OK
    assert EarningsEvent.objects.filter(ticker=name, source="vendor").exists()
    signals = Scan.objects.get(task_id="first").signals.all()
    assert any("earnings_in_window" in signal.data["flags"] for signal in signals)


def test_a_cold_spy_scan_with_its_earnings_check_stays_within_8_requests(sim):
    # when SPY is scanned for the first time (no listing cached, never asked about earnings)
    report = scan_and_alert("SPY", owner="cold")

    # then the earnings request is counted in the scan and the contract holds
    assert sim.counters["rest:benzinga_earnings"] == 1
    assert report.outcome == Scan.Outcome.OK
    assert Scan.objects.get(task_id="cold").requests == report.requests <= 8
