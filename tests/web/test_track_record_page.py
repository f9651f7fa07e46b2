"""The public track record page with the test client: the aggregates (the same as trades/results.py's),
the charts' data, the closed trades with their flags, the empty state, the CSV of every trade, anonymous
access, and a query count that does not grow with the trades."""

from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from testing.paper_trades import FIRST_CLOSE, closed_trade, varied_book
from tests.trades.builders import qualifying, store
from trades import results
from trades.exits import close_due_trades
from trades.models import PaperTrade

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(postgres) -> list[PaperTrade]:
    """Five closed trades: every FF bucket, both structures, two pairs, earnings or not, one no_quote."""
    return PaperTrade.objects.bulk_create(
        [
            closed_trade(0, ff=0.22, exit_mid=1.60, exit_fill=1.56),
            closed_trade(1, ff=0.25, earnings=True, exit_mid=1.10, exit_fill=1.06),
            closed_trade(2, ff=0.35, structure="double_calendar", exit_mid=1.90, exit_fill=1.85, pair="30-90"),
            closed_trade(
                3,
                ff=0.45,
                exit_mid=1.00,
                exit_fill=0.95,
                closed_at=FIRST_CLOSE + timedelta(days=1),
                reason=PaperTrade.ExitReason.NO_QUOTE,
                flags=("no_quote",),
            ),
            closed_trade(4, ff=0.80, exit_mid=1.70, exit_fill=1.65, closed_at=FIRST_CLOSE + timedelta(days=2)),
        ]
    )


def test_anyone_can_open_the_page_and_the_nav_links_it(client, book):
    # when an anonymous visitor opens the page
    response = client.get("/track-record/")
    # then it answers, and every page's navigation leads to it
    assert response.status_code == 200
    assert b'href="/track-record/"' in client.get("/").content
    assert b'href="/track-record/trades.csv"' in response.content


def test_the_aggregates_are_the_results_of_trades_results_with_the_mid_beside_them(client, book):
    # when the page is read
    record = client.get("/track-record/").context["record"]
    # then every row is trades/results.py's, in its order
    expected = results.table()
    shown = [record.overall.row] + [r.row for _, rows in record.groups for r in rows]
    assert shown == expected
    assert [name for name, _ in record.groups] == ["FF bucket", "pair", "structure", "earnings in window"]
    # and the mid's median, worst and win rate are recomputed here from the stored trades
    mids = sorted(t.return_mid for t in book)
    assert record.overall.mid.median_return == pytest.approx(statistics.median(mids))
    assert record.overall.mid.worst_return == pytest.approx(mids[0])
    assert record.overall.mid.win_rate == pytest.approx(sum(t.pnl_mid > 0 for t in book) / len(book))
    assert (record.closed_count, record.open_count) == (5, 0)


def test_the_results_table_shows_both_models_realistic_first(client, book):
    response = client.get("/track-record/")
    html = response.content.decode()
    everything = results.table()[0]
    # the realistic fill's columns come before the mid's, and the figures are the table's
    assert html.index("Realistic fill") < html.index(">Mid<")
    assert f"{everything.pnl_fill:+,.2f}" in html and f"{everything.pnl_mid:+,.2f}" in html
    assert "Double calendar" in html and "earnings in the window" in html and "0.30–0.50" in html
    # and the definitions are on the page, with the settings' numbers
    assert "0.25 of the way from the mid to the natural price" in html
    assert "$0.65 per contract per leg" in html


def test_the_charts_data_cumulates_pnl_by_close_time_and_gives_returns_by_bucket(client, book):
    response = client.get("/track-record/")
    html = response.content.decode()
    pnl = json.loads(html.split('<script id="pnl-data" type="application/json">')[1].split("</script>")[0])
    # three trades closed at the first exit time make one point; the sums run in close order
    day = [t for t in book if t.closed_at == FIRST_CLOSE]
    assert pnl["times"] == [int((FIRST_CLOSE + timedelta(days=d)).timestamp()) for d in range(3)]
    assert pnl["fill"][0] == pytest.approx(sum(t.pnl_fill for t in day), abs=0.01)
    assert pnl["fill"][-1] == pytest.approx(sum(t.pnl_fill for t in book), abs=0.01)
    assert pnl["mid"][-1] == pytest.approx(sum(t.pnl_mid for t in book), abs=0.01)
    buckets = response.context["record"].bucket_chart
    assert buckets["buckets"] == ["0.20–0.30", "0.30–0.50", "≥ 0.50"]
    assert buckets["counts"] == [2, 2, 1]
    low = [t for t in book if t.ff < 0.3]
    assert buckets["mean_fill"][0] == pytest.approx(statistics.fmean(t.return_fill for t in low))
    assert buckets["median_mid"][2] == pytest.approx(book[4].return_mid)


def test_closed_trades_are_listed_latest_first_with_no_quote_said_plainly(client, book):
    response = client.get("/track-record/")
    recent = list(response.context["record"].recent.object_list)
    assert [t.front_expiry for t in recent[:2]] == [book[4].front_expiry, book[3].front_expiry]
    html = response.content.decode()
    assert "no quote at the exit: closed at its last mark" in html and "exit-no_quote" in html
    # times in New York: the first exit at 20:45 UTC is 15:45 EST
    assert "2026-02-02 15:45 EST" in html


def test_the_closed_trades_are_paginated(client, postgres):
    varied_book(120)
    first = client.get("/track-record/").context["record"].recent
    third = client.get("/track-record/?page=3").context["record"].recent
    assert (len(first.object_list), first.paginator.num_pages) == (50, 3)
    assert len(third.object_list) == 20
    assert client.get("/track-record/?page=nonsense").status_code == 200


def test_with_no_trade_the_page_says_so_and_draws_no_chart(client, postgres):
    response = client.get("/track-record/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "No closed paper trade yet" in html
    assert "data-chart" not in html and "track_record_charts.js" not in html


def test_open_trades_are_counted_not_aggregated(client, book):
    PaperTrade.objects.filter(pk=book[4].pk).update(status=PaperTrade.Status.OPEN)
    record = client.get("/track-record/").context["record"]
    assert (record.closed_count, record.open_count) == (4, 1)
    assert record.overall.row.count == 4


def test_a_trade_the_service_opened_and_closed_shows_up_with_its_flag(client, postgres):
    # given a qualifying signal stored by a scan (the trade opens) and closed unquoted at its exit time
    store(qualifying())
    trade = PaperTrade.objects.get()
    assert close_due_trades(trade.exit_due_at + timedelta(minutes=1)) == 1
    # when the page and the CSV are read
    response = client.get("/track-record/")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(client.get("/track-record/trades.csv").streaming_content).decode()))
    )
    # then the trade is there, flagged no_quote, in both
    assert response.context["record"].overall.row.count == 1
    assert "no quote at the exit" in response.content.decode()
    assert rows[0]["exit_reason"] == "no_quote" and json.loads(rows[0]["flags"]) == ["no_quote"]
    assert json.loads(rows[0]["legs"])[0]["leg"] == trade.legs[0]["leg"]


def test_the_csv_has_every_trade_and_every_stored_column(client, book):
    # given an open trade besides the closed ones
    PaperTrade.objects.filter(pk=book[4].pk).update(status=PaperTrade.Status.OPEN, closed_at=None)
    # when the CSV is downloaded
    response = client.get("/track-record/trades.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="paper-trades.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    # then every column of the model is a column, and every trade a row, oldest first
    assert list(rows[0]) == [f.attname for f in PaperTrade._meta.concrete_fields]
    assert len(rows) == 5 and [int(r["id"]) for r in rows] == [t.pk for t in sorted(book, key=lambda t: t.opened_at)]
    first = rows[0]
    stored = PaperTrade.objects.get(pk=first["id"])
    assert float(first["pnl_fill"]) == stored.pnl_fill  # full precision
    assert float(first["return_mid"]) == stored.return_mid
    assert first["opened_at"] == "2026-01-05T10:00:00-05:00"  # New York, with its offset
    assert datetime.fromisoformat(first["closed_at"]).astimezone(UTC) == stored.closed_at
    assert first["earnings_in_window"] == "false" and first["put_strike"] == "" and first["signal_id"] == ""
    assert json.loads(first["legs"]) == stored.legs
    assert rows[-1]["status"] == "open" and rows[-1]["closed_at"] == ""


@pytest.mark.parametrize("trades", [10, 400])
def test_the_page_and_csv_read_a_fixed_number_of_queries_whatever_the_trades(
    client, postgres, django_assert_max_num_queries, trades
):
    varied_book(trades)
    with django_assert_max_num_queries(3):
        assert client.get("/track-record/?page=2").status_code == 200
    with django_assert_max_num_queries(1):
        b"".join(client.get("/track-record/trades.csv").streaming_content)
