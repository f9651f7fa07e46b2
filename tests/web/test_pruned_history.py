"""The pages on pruned history (scanner.retention): the ticker page draws old days from their rollups, and
the board and the track record read the same after pruning as before."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scanner.models import Scan, Signal, SignalDay
from scanner.retention import prune_history
from testing.factories import saved_signals, signal_dict
from tests.trades.builders import ENTRY, later, qualifying, store
from tests.web.history import DAYS, LAST, SCANS_A_DAY, store_scans
from trades.models import Mark, PaperTrade

pytestmark = [pytest.mark.services, pytest.mark.django_db]

NEW_YORK = ZoneInfo("America/New_York")
RETENTION = 7
NOW = LAST + timedelta(hours=1)
CUTOFF = NOW - timedelta(days=RETENTION)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def history_points(client, symbol: str) -> dict[str, list[list]]:
    series = client.get(f"/tickers/{symbol}/").context["page"].history_chart["series"]
    return {s["label"]: s["points"] for s in series}


def last_of_each_old_day(points: list[list]) -> list[list]:
    """What the chart draws once days before the cutoff are rolled up: those days' last points only."""
    last_of_day: dict = defaultdict(list)
    for point in points:
        at = datetime.fromtimestamp(point[0], NEW_YORK)
        if at < CUTOFF:
            last_of_day[at.date()] = point
    return [p for p in points if datetime.fromtimestamp(p[0], NEW_YORK) >= CUTOFF or p in last_of_day.values()]


def test_the_ticker_history_draws_pruned_days_from_their_rollups(trader_client, django_assert_max_num_queries):
    # given 20 days of four scans a day, drawn whole
    store_scans("AAPL")
    before = history_points(trader_client, "AAPL")
    assert all(len(points) == DAYS * SCANS_A_DAY for points in before.values())
    # when everything older than 7 days is pruned
    report = prune_history(NOW, retention_days=RETENTION, batch_size=9)
    assert report.signals_deleted > 0 and SignalDay.objects.exists()
    assert not Signal.objects.filter(as_of__lt=CUTOFF).exclude(scan__in=kept_scans()).exists()
    # then each pruned day is one point, its last FF at its last time, and the recent days are whole
    with django_assert_max_num_queries(10):
        after = history_points(trader_client, "AAPL")
    assert after == {label: last_of_each_old_day(points) for label, points in before.items()}
    assert all(len(points) == (DAYS - RETENTION) + RETENTION * SCANS_A_DAY for points in after.values())


def kept_scans() -> set[int]:
    """Scans the board still points at (the last one here)."""
    from scanner.models import LatestSignal

    return set(LatestSignal.objects.values_list("scan_id", flat=True))


def test_a_history_half_rolled_up_draws_each_point_once(trader_client):
    # given a day whose first scans are rolled up and whose later ones are not yet (a run stopped mid-day)
    store_scans("AAPL")
    before = history_points(trader_client, "AAPL")
    day_start = LAST - timedelta(days=3, hours=2)  # the day's two first scans started before it
    prune_history(day_start + timedelta(days=RETENTION), retention_days=RETENTION, batch_size=5)
    # then the rolled-up part is its last point, the rest every scan, none twice
    after = history_points(trader_client, "AAPL")
    for label, points in after.items():
        assert len(points) == len({p[0] for p in points})
        assert set(map(tuple, points)) <= set(map(tuple, before[label]))
        assert before[label][-(3 * SCANS_A_DAY + 2) :] == points[-(3 * SCANS_A_DAY + 2) :]


def test_the_board_reads_the_same_after_pruning(trader_client):
    # given tickers scanned over three weeks, one of them not since the first day
    for day in range(21):
        for ticker in ("AAPL", "MSFT") if day else ("AAPL", "MSFT", "QUIET"):
            as_of = NOW - timedelta(days=20 - day, hours=2)
            saved_signals(*(signal_dict(ticker, pair=p, ff=0.2 + day / 100, as_of=as_of) for p in ("30-60", "60-90")))
    before = body(trader_client.get("/signals/export.csv"))
    # when history older than a week is pruned
    prune_history(NOW, retention_days=RETENTION)
    # then the board (its CSV: every row and column) is unchanged, the quiet ticker's old row included
    assert not Scan.objects.filter(ticker="AAPL", started_at__lt=CUTOFF).exists()
    after = body(trader_client.get("/signals/export.csv"))
    assert after == before and b"QUIET" in after
    page = trader_client.get("/signals/")
    assert page.status_code == 200 and "QUIET" in [row.ticker for row in page.context["page"].object_list]


def test_the_track_record_reads_the_same_after_pruning(client):
    # given paper trades opened and marked by scans three and two weeks ago, some closed since
    opened_at = NOW - timedelta(days=21)
    for n, ticker in enumerate(("AAPL", "MSFT", "NVDA")):
        signal = qualifying(as_of=opened_at + timedelta(minutes=n), ticker=ticker)
        store(signal)
        for day in range(1, 8):
            bid_ask = {
                leg: (bid + 0.02 * day * (n - 1), ask + 0.02 * day * (n - 1)) for leg, (bid, ask) in ENTRY.items()
            }
            store(later(signal, opened_at + timedelta(days=day, minutes=n), bid_ask))
    assert PaperTrade.objects.count() == 3 and Mark.objects.count() == 21
    from trades.exits import close_due_trades

    close_due_trades(opened_at + timedelta(days=60))
    pages = ("/track-record/", "/track-record/trades.csv")
    before = {path: body(client.get(path)) for path in pages}
    assert PaperTrade.objects.filter(status=PaperTrade.Status.CLOSED).count() == 3
    assert all(ticker in before["/track-record/trades.csv"] for ticker in (b"AAPL", b"MSFT", b"NVDA"))
    marks_before = list(Mark.objects.order_by("pk").values_list("pk", "at", "mid", "fill"))
    # when history older than a week is pruned
    report = prune_history(NOW, retention_days=RETENTION)
    # then the scans that only marked the trades are gone, their marks kept, and the record reads the same
    # (the scans of the opening signals and of the board's latest signals stay)
    assert report.scans_deleted == 18 and report.scans_kept == 6
    assert list(Mark.objects.order_by("pk").values_list("pk", "at", "mid", "fill")) == marks_before
    assert set(Mark.objects.filter(scan__isnull=False).values_list("scan_id", flat=True)) == set(
        Scan.objects.values_list("pk", flat=True)
    ) - set(PaperTrade.objects.values_list("signal__scan_id", flat=True))
    assert {path: body(client.get(path)) for path in pages} == before
    assert PaperTrade.objects.filter(signal__isnull=False).count() == 3
