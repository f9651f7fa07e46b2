"""The track record's table on a hand-built set of closed trades, and the command that prints it."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from trades import results
from trades.models import PaperTrade

pytestmark = pytest.mark.django_db

OPENED = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)

# ff, pair, structure, earnings in window, P&L per spread at mid and at the fill, debit per spread (mid, fill)
HAND_BUILT = [
    (0.22, "30-60", "atm_call_calendar", False, 40.0, 30.0, 100.0, 110.0),
    (0.25, "30-60", "atm_call_calendar", True, -20.0, -30.0, 100.0, 110.0),
    (0.35, "30-60", "double_calendar", False, 90.0, 70.0, 200.0, 220.0),
    (0.45, "60-90", "atm_call_calendar", False, -5.0, -15.0, 100.0, 110.0),
    (0.80, "60-90", "double_calendar", True, 150.0, 120.0, 300.0, 330.0),
]


def closed_trade(i: int, ff, pair, structure, earnings, pnl_mid, pnl_fill, debit_mid, debit_fill) -> PaperTrade:
    return PaperTrade(
        ticker="T",
        structure=structure,
        pair=pair,
        front_expiry=date(2025, 4, 3) + timedelta(days=i),
        back_expiry=date(2025, 5, 3),
        strike=100.0,
        legs=[{"leg": "front_call"}, {"leg": "back_call"}],
        opened_at=OPENED,
        ff=ff,
        earnings_in_window=earnings,
        fill_share=0.25,
        commission_per_contract=0.65,
        entry_mid=debit_mid / 100,
        entry_natural=debit_fill / 100,
        entry_fill=debit_fill / 100,
        entry_mid_per_spread=debit_mid,
        entry_fill_per_spread=debit_fill,
        entry_commission=1.3,
        exit_due_at=OPENED + timedelta(days=30),
        status=PaperTrade.Status.CLOSED,
        exit_reason=PaperTrade.ExitReason.EXIT_RULE,
        pnl_mid=pnl_mid,
        pnl_fill=pnl_fill,
        return_mid=pnl_mid / debit_mid,
        return_fill=pnl_fill / debit_fill,
    )


@pytest.fixture
def book(postgres) -> list[PaperTrade]:
    return PaperTrade.objects.bulk_create([closed_trade(i, *row) for i, row in enumerate(HAND_BUILT)])


def by(rows, group: str) -> dict[str, results.Row]:
    return {r.value: r for r in rows if r.group == group}


def test_the_buckets_pairs_structures_and_earnings_rows(book):
    rows = results.table()
    everything = rows[0]
    fills = [row[5] / row[7] for row in HAND_BUILT]
    mids = [row[4] / row[6] for row in HAND_BUILT]
    assert (everything.group, everything.count) == ("all", 5)
    assert everything.win_rate == pytest.approx(3 / 5)
    assert everything.mean_return_fill == pytest.approx(statistics.fmean(fills))
    assert everything.mean_return_mid == pytest.approx(statistics.fmean(mids))
    assert everything.median_return_fill == pytest.approx(30 / 110)
    assert everything.worst_return_fill == pytest.approx(-30 / 110)
    assert (everything.pnl_mid, everything.pnl_fill) == (255.0, 175.0)

    buckets = by(rows, "FF bucket")
    assert list(buckets) == ["0.20–0.30", "0.30–0.50", "≥ 0.50"]
    assert [b.count for b in buckets.values()] == [2, 2, 1]
    assert buckets["0.20–0.30"].win_rate == 0.5
    assert buckets["0.20–0.30"].pnl_fill == 0.0
    assert buckets["0.30–0.50"].mean_return_fill == pytest.approx((70 / 220 - 15 / 110) / 2)
    assert buckets["≥ 0.50"].worst_return_fill == pytest.approx(120 / 330)

    pairs = by(rows, "pair")
    assert (pairs["30-60"].count, pairs["30-60"].pnl_fill) == (3, 70.0)
    assert (pairs["60-90"].count, pairs["60-90"].pnl_mid) == (2, 145.0)
    structures = by(rows, "structure")
    assert structures["double_calendar"].win_rate == 1.0
    assert structures["atm_call_calendar"].worst_return_fill == pytest.approx(-30 / 110)
    earnings = by(rows, "earnings in window")
    assert (earnings["yes"].count, earnings["yes"].pnl_fill) == (2, 90.0)
    assert (earnings["no"].count, earnings["no"].pnl_fill) == (3, 85.0)


def test_open_trades_are_not_in_the_results_and_bucket_bounds_belong_to_the_upper_bucket(book):
    PaperTrade.objects.filter(ff=0.80).update(status=PaperTrade.Status.OPEN)
    rows = results.table()
    assert rows[0].count == 4 and "≥ 0.50" not in by(rows, "FF bucket")
    assert [results.ff_bucket(x) for x in (0.2, 0.3, 0.5, 0.19)] == ["0.20–0.30", "0.30–0.50", "≥ 0.50", "< 0.20"]


def test_the_command_prints_the_table(book):
    out = StringIO()
    call_command("track_record", stdout=out)
    text = out.getvalue()
    assert text.startswith("Paper trades: 5 closed, 0 open.")
    lines = text.splitlines()
    assert any(line.split()[:3] == ["all", "all", "5"] and "+175.00" in line for line in lines)
    assert any(line.startswith("FF bucket") and "0.30–0.50" in line for line in lines)


def test_the_command_says_so_when_there_are_no_closed_trades(postgres):
    out = StringIO()
    call_command("track_record", stdout=out)
    assert "No closed paper trades yet" in out.getvalue()
