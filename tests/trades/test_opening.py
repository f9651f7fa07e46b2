"""Which stored signals open a paper trade, at what entry, and never twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from scanner.models import Signal
from tests.trades.builders import ENTRY, qualifying, store
from trades.models import PaperTrade

pytestmark = pytest.mark.django_db


def test_a_qualifying_call_calendar_opens_one_trade_at_the_mid_and_at_a_quarter_of_the_spread(postgres):
    # given a liquid, fresh signal with FF 0.30: front call 2.90 / 3.00, back call 4.10 / 4.30
    scan, (signal,) = store(qualifying())
    # then one trade, its entry recomputed here from the stored quotes
    trade = PaperTrade.objects.get()
    legs = {leg["leg"]: leg for leg in signal.data["legs"]}
    mid = legs["back_call"]["mid"] - legs["front_call"]["mid"]  # 4.20 - 2.95
    natural = legs["back_call"]["ask"] - legs["front_call"]["bid"]  # 4.30 - 2.90
    fill = mid + 0.25 * (natural - mid)
    assert (mid, natural) == pytest.approx((1.25, 1.40))
    assert trade.entry_mid == pytest.approx(mid)
    assert trade.entry_natural == pytest.approx(natural)
    assert trade.entry_fill == pytest.approx(fill) == pytest.approx(1.2875)
    assert trade.entry_mid_per_spread == 125.00
    assert trade.entry_fill_per_spread == 128.75
    assert trade.entry_commission == pytest.approx(2 * 0.65)
    assert (trade.ticker, trade.structure, trade.pair, trade.strike, trade.put_strike) == (
        "AAPL",
        "atm_call_calendar",
        "30-60",
        100.0,
        None,
    )
    assert trade.signal_id == signal.pk and trade.opened_at == signal.as_of and trade.ff == 0.30
    assert trade.status == PaperTrade.Status.OPEN and not trade.earnings_in_window
    # and the scan's alert count is the alerts' (none here), not the trades'
    scan.refresh_from_db()
    assert scan.alerts == 0


def test_a_double_calendar_pays_commission_on_four_legs_and_keeps_both_strikes(postgres, settings):
    settings.TRADES_COMMISSION_PER_CONTRACT = 1.00
    settings.TRADES_FILL_SHARE = 0.5
    store(qualifying("double_calendar"))
    trade = PaperTrade.objects.get()
    call_put = [ENTRY[n] for n in ("back_call", "back_put")], [ENTRY[n] for n in ("front_call", "front_put")]
    bought, sold = call_put
    mid = sum((b + a) / 2 for b, a in bought) - sum((b + a) / 2 for b, a in sold)
    natural = sum(a for _, a in bought) - sum(b for b, _ in sold)
    assert trade.entry_mid == pytest.approx(mid)
    assert trade.entry_fill == pytest.approx(mid + 0.5 * (natural - mid))
    assert trade.entry_commission == pytest.approx(4.00)
    assert (trade.strike, trade.put_strike, trade.strikes) == (100.0, 95.0, "100/95")
    assert trade.fill_share == 0.5 and trade.commission_per_contract == 1.00


def test_earnings_in_the_window_are_judged_on_the_ex_earnings_ff(postgres):
    store(qualifying(ff=0.10, ff_ex_earnings=0.25, flags=("earnings_in_window",), earnings_dates=("2025-03-20",)))
    trade = PaperTrade.objects.get()
    assert trade.ff == 0.25 and trade.earnings_in_window


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"ff": 0.19}, id="FF below 0.20"),
        pytest.param({"ff": None}, id="no FF"),
        pytest.param(
            {"ff": 0.60, "ff_ex_earnings": 0.15, "flags": ("earnings_in_window",)}, id="ex-earnings FF below 0.20"
        ),
        pytest.param({"ff": 0.60, "ff_ex_earnings": None, "flags": ("earnings_in_window",)}, id="ex-earnings unknown"),
        pytest.param({"flags": ("stale_quotes",)}, id="stale quotes"),
        pytest.param({"open_interest": None, "passes_liquidity": False}, id="a leg not liquid"),
    ],
)
def test_a_signal_failing_the_reference_rule_opens_no_trade(postgres, changes):
    liquid = changes.pop("passes_liquidity", True)
    signal = qualifying(**changes)
    signal["passes_liquidity"] = liquid
    store(signal)
    assert not PaperTrade.objects.exists()


def test_the_minimum_ff_is_a_setting(postgres, settings):
    settings.TRADES_MIN_FF = 0.35
    store(qualifying(ff=0.30))
    assert not PaperTrade.objects.exists()


def test_a_signal_whose_exit_time_has_already_come_opens_no_trade(postgres):
    # given a 1-day front (pair "1-60"): its exit is 15 minutes before the close of the session before the
    # front expiry, which is the signal's own session, and the signal comes after that exit time
    late = datetime(2025, 3, 6, 20, 50, tzinfo=UTC)  # Thursday 15:50 New York; front expiry Friday
    store(qualifying(pair="1-60", as_of=late))
    assert not PaperTrade.objects.exists()


def test_the_same_signals_stored_twice_or_by_two_scans_open_each_trade_once(postgres):
    store(qualifying(), qualifying("double_calendar"))
    store(qualifying(), qualifying("double_calendar"))  # a second scan of the same quotes
    later = datetime(2025, 3, 4, 17, 0, tzinfo=UTC)
    store(qualifying(as_of=later))  # a later scan: same spread, still one trade
    assert PaperTrade.objects.count() == 2
    first = PaperTrade.objects.get(structure="atm_call_calendar")
    assert first.opened_at == datetime(2025, 3, 4, 16, 0, tzinfo=UTC)  # the first signal's entry stands


@pytest.mark.django_db(transaction=True)
def test_two_scans_racing_on_postgresql_open_one_trade(postgres):
    # given two threads, each storing the same qualifying signal in its own scan transaction
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            barrier.wait(timeout=10)
            store(qualifying())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then both scans committed and only one trade was opened
    assert not errors
    assert not any(t.is_alive() for t in threads)
    assert PaperTrade.objects.count() == 1


def test_a_failure_of_the_track_record_does_not_fail_the_scan_or_its_alerts(postgres, caplog, monkeypatch):
    # given a bug in opening trades
    from trades import service

    def broken(signals):
        raise ValueError("a bug")

    monkeypatch.setattr(service, "open_trades", broken)
    # when a scan stores its signals
    scan, rows = store(qualifying())
    # then the scan's rows stand, no trade was opened, and the failure is logged
    assert Signal.objects.filter(scan=scan).count() == 1
    assert not PaperTrade.objects.exists()
    assert f"paper trades of scan {scan.pk} (AAPL) not recorded" in caplog.text
