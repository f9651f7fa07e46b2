"""`manage.py demo --days N`: the demo plays several trading days and ends with a track record."""

from __future__ import annotations

import gc
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

SESSION = date(2026, 11, 30)  # a Monday: the simulated market's first session is pinned, not today's


@pytest.fixture
def embedded(settings, tmp_path, shared_state_reset):
    """Embedded defaults (in-process Redis, eager tasks) and the demo's files in a directory of the test's."""
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    yield tmp_path
    # The stream's threads have ended, but their database connections wait in reference cycles for a
    # collection, and PostgreSQL will not drop the test database while they are open.
    gc.collect()


@pytest.mark.django_db(transaction=True)
def test_three_days_end_with_closed_paper_trades_and_the_track_record(embedded: Path):
    # given the embedded defaults and a pinned first session
    from trades.models import PaperTrade

    out = io.StringIO()
    # when the demo plays three days (a short stream on the first)
    call_command(
        "demo", "--days", "3", "--seconds", "10", "--universe", "20", "--date", SESSION.isoformat(), stdout=out
    )
    text = out.getvalue()
    # then each further day said what it did, and the run ended with the track record's table
    assert "Day 2 (Tue 2026-12-01):" in text and "Day 3 (Wed 2026-12-02):" in text
    assert "held at most 1 day(s) (TRADES_MAX_HOLD_DAYS" in text
    assert "marked at 15:40 from their own contracts" in text
    assert "Track record of the demo's 3 day(s)" in text
    closed = PaperTrade.objects.filter(status=PaperTrade.Status.CLOSED)
    assert closed.count() >= 3
    assert f"Paper trades: {closed.count()} closed, " in text
    assert "\ngroup " in text and "\nall " in text
    # and the summary file carries the same record (besides the story's figures, kept as they were)
    summary = json.loads((embedded / "demo" / "summary.json").read_text())
    record = summary["track_record"]
    assert summary["days"] == 3 and record["hold_days"] == 1
    assert record["closed"] == closed.count() and record["rows"][0]["count"] == closed.count()
    assert [day["day"] for day in record["days"]] == ["2026-12-01", "2026-12-02"]
    assert {"moves", "scans", "signals", "alerts", "messages", "emails", "api_calls"} <= summary.keys()
    # and the trades were closed by the maximum hold at the exit time of the session after their
    # opening, on the daily mark of their own contracts taken just before
    assert set(closed.values_list("exit_reason", flat=True)) == {PaperTrade.ExitReason.MAX_HOLD}
    for trade in closed:
        assert timedelta(days=1) <= trade.closed_at - trade.opened_at < timedelta(days=2)
        assert trade.marks.filter(scan=None, at__lt=trade.closed_at).exists()
        assert trade.last_mark_complete and not trade.flags


def play(days: int) -> list[tuple]:
    """The further days on a fresh simulated market pinned to SESSION: the trades they leave."""
    from demo import days as further_days
    from forwardfactor.runtime import using_market
    from forwardfactor.shared_state import shared_redis
    from marketsim.server import MarketSimServer
    from marketsim.session import session_bounds
    from trades.models import PaperTrade

    shared_redis().flushall()  # no cached chain of a previous run
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        further_days.add_rich_names(sim)
        since = session_bounds(SESSION)[0]
        with using_market(sim.rest_url, clock=sim.now):
            further_days.play_days(sim, lambda line: None, days, since)
            record = further_days.track_record(since, [])
    trades = PaperTrade.objects.order_by("ticker", "pair", "structure", "strikes", "opened_at")
    return [record.rows] + list(
        trades.values_list("ticker", "pair", "structure", "strikes", "opened_at", "status", "closed_at", "pnl_fill")
    )


@pytest.mark.django_db(transaction=True)
def test_the_further_days_play_out_the_same_every_time(embedded: Path, settings):
    # given a trader following the demo's rich names (the watch set the days scan)
    from accounts.models import Subscription
    from demo.days import RICH_NAMES
    from scanner.models import Scan
    from testing.factories import user
    from trades.models import PaperTrade

    trader = user("trader@example.com")
    for symbol, *_ in RICH_NAMES:
        Subscription.objects.create(user=trader, ticker=symbol)
    settings.TRADES_MAX_HOLD_DAYS = 1
    # when the same three days are played twice from scratch
    first = play(3)
    PaperTrade.objects.all().delete()
    Scan.objects.all().delete()
    second = play(3)
    # then the trades and the track record are the same, and some closed
    assert first == second
    assert first[0] and first[0][0]["count"] >= 3
