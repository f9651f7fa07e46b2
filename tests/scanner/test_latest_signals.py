"""The board's read model: each scan moves the latest signal of its ticker x pair x structure forward, never back."""

import importlib
from datetime import date, timedelta

import pytest
from django.apps import apps

from scanner.latest import record_latest
from scanner.models import LatestSignal, Scan, Signal, Ticker
from scanner.scanning import scan_and_alert, signal_row
from testing.factories import AS_OF, saved_signals, signal_dict

pytestmark = pytest.mark.django_db

SESSION = date(2025, 6, 2)
HOT = "HOTFF"
MONTHLIES_ONLY = "UQG"  # seed 7: no expiry pair within tolerance
STRUCTURES = ("atm_call_calendar", "double_calendar")


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, session_date=SESSION).start()
    server.add_ticker(HOT, price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def board() -> dict[tuple[str, str, str], LatestSignal]:
    return {(row.ticker, row.pair, row.structure): row for row in LatestSignal.objects.all()}


def test_a_scan_puts_each_of_its_signals_on_the_board_and_the_next_scan_replaces_them(sim):
    # when a ticker is scanned
    first = scan_and_alert(HOT)
    # then the board holds one row per pair and structure of the scan, with the signal's figures
    signals = list(Signal.objects.filter(scan_id=first.scan_id))
    rows = board()
    assert first.signals == len(signals) == len(rows) > 0
    for signal in signals:
        row = rows[(HOT, signal.pair, signal.structure)]
        assert (row.signal_id, row.scan_id, row.ff, row.as_of) == (signal.pk, first.scan_id, signal.ff, signal.as_of)
        assert row.forward_iv == signal.data["forward_iv"]
        assert row.spread_cost_pct == signal.data["spread_cost_pct"]
        assert row.passes_liquidity == signal.passes_liquidity and row.reasons == signal.data["reasons"]
    assert Ticker.objects.get(symbol=HOT).last_scan_id == first.scan_id
    # when it is scanned again
    second = scan_and_alert(HOT)
    # then the same rows now show the second scan
    assert len(board()) == len(rows)
    assert {row.scan_id for row in board().values()} == {second.scan_id}
    assert Ticker.objects.get(symbol=HOT).last_scan_id == second.scan_id


def test_a_scan_without_a_pair_is_the_ticker_s_latest_scan_and_leaves_no_row(sim):
    report = scan_and_alert(MONTHLIES_ONLY)
    assert report.outcome == Scan.Outcome.NO_PAIR
    assert Ticker.objects.get(symbol=MONTHLIES_ONLY).last_scan_id == report.scan_id
    assert not LatestSignal.objects.filter(ticker=MONTHLIES_ONLY).exists()


def test_an_older_scan_committing_late_does_not_overwrite_a_newer_row():
    # given the board holds a signal as of 11:00
    (newer,) = saved_signals(signal_dict("AAPL", ff=0.40))
    # when a scan of data from 10:00 (a retried task, say) stores its signals afterwards
    (older,) = saved_signals(signal_dict("AAPL", ff=0.10, as_of=AS_OF - timedelta(hours=1)))
    # then the row still shows 11:00
    row = LatestSignal.objects.get(ticker="AAPL")
    assert (row.signal_id, row.ff, row.as_of) == (newer.pk, 0.40, AS_OF)
    # and a newer one moves it forward, other keys untouched
    (newest,) = saved_signals(signal_dict("AAPL", ff=0.55, as_of=AS_OF + timedelta(hours=1)))
    saved_signals(signal_dict("AAPL", pair="60-90", ff=0.2))
    assert LatestSignal.objects.get(ticker="AAPL", pair="30-60").signal_id == newest.pk
    assert LatestSignal.objects.count() == 2


def test_the_row_carries_ex_earnings_ff_and_the_first_earnings_date_in_the_window():
    saved_signals(signal_dict("AAPL", ff_ex_earnings=0.12, earnings_dates=("2025-03-20", "2025-03-11")))
    row = LatestSignal.objects.get()
    assert (row.ff_ex_earnings, row.earnings_date) == (0.12, date(2025, 3, 11))


def test_recording_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert record_latest([]) == 0


def test_one_statement_writes_a_scan_s_rows(django_assert_num_queries):
    scan = Scan.objects.create(ticker="AAPL", reason=Scan.Reason.MANUAL, started_at=AS_OF)
    signals = Signal.objects.bulk_create(
        [signal_row(scan, signal_dict("AAPL", pair=p, structure=s)) for p in ("30-60", "60-90") for s in STRUCTURES]
    )
    with django_assert_num_queries(1):
        assert record_latest(signals) == 4


def test_the_migration_fills_the_board_with_the_latest_signal_of_each_key_and_each_ticker_s_last_scan():
    # given stored scans from before the board existed
    saved_signals(signal_dict("AAPL", ff=0.1, as_of=AS_OF - timedelta(hours=2)))
    (latest,) = saved_signals(signal_dict("AAPL", ff=0.3))
    (other,) = saved_signals(signal_dict("MSFT", structure="double_calendar", ff=0.2))
    finished = Scan.objects.create(
        ticker="UQG", reason=Scan.Reason.MANUAL, outcome=Scan.Outcome.NO_PAIR, started_at=AS_OF, finished_at=AS_OF
    )
    Ticker.objects.create(symbol="UQG")
    LatestSignal.objects.all().delete()
    # when the migration's data step runs
    migration = importlib.import_module("scanner.migrations.0015_latest_signal_board")
    migration.fill_the_board(apps, None)
    # then
    assert {row.signal_id for row in LatestSignal.objects.all()} == {latest.pk, other.pk}
    assert LatestSignal.objects.get(ticker="AAPL").ff == 0.3
    assert Ticker.objects.get(symbol="UQG").last_scan_id == finished.pk
