"""Marks from a scan: the closing credit of open trades whose legs the scan's signals quote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.trades.builders import ENTRY, later, qualifying, store
from trades.models import Mark, PaperTrade

pytestmark = pytest.mark.django_db

MONDAY = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
QUOTES = {"front_call": (2.00, 2.10), "back_call": (3.60, 3.80)}


def test_a_later_scan_quoting_the_legs_marks_the_trade_at_mid_natural_and_realistic_fill(postgres):
    # given a trade opened on Tuesday (its own scan does not mark it)
    signal = qualifying()
    store(signal)
    assert not Mark.objects.exists()
    # when Monday's scan quotes the same contracts
    scan, _ = store(later(signal, MONDAY, QUOTES))
    # then one mark: closing sells the back call (bid 3.60, mid 3.70) and buys the front (ask 2.10, mid 2.05)
    mark = Mark.objects.get()
    mid, natural = 3.70 - 2.05, 3.60 - 2.10
    assert mark.mid == pytest.approx(mid)
    assert mark.natural == pytest.approx(natural)
    assert mark.fill == pytest.approx(mid - 0.25 * (mid - natural))
    assert (mark.scan_id, mark.at, mark.unquoted, mark.flags) == (scan.pk, MONDAY, [], [])
    trade = PaperTrade.objects.get()
    assert trade.last_mark_at == MONDAY and trade.last_mark_complete
    assert trade.last_mark_fill == pytest.approx(mark.fill)
    assert {leg["leg"]: (leg["bid"], leg["ask"]) for leg in trade.last_mark_legs} == QUOTES
    assert trade.status == PaperTrade.Status.OPEN


def test_a_leg_the_scan_does_not_quote_keeps_its_last_quote_and_the_mark_says_so(postgres):
    # given a trade on the 30-day front and 60-day back call at 100
    store(qualifying())
    # when a scan's only signal is the 60-90 pair, whose front leg is the trade's back call (below the rule)
    other = qualifying(pair="60-90", ff=0.05, quotes={"front_call": (3.90, 4.10), "back_call": (5.0, 5.2)})
    other["as_of"] = MONDAY.isoformat()
    store(other)
    # then the back call is marked fresh and the front call keeps its entry quote, flagged
    mark = Mark.objects.get()
    assert mark.unquoted == ["front_call"] and mark.flags == ["leg_unquoted"]
    front_mid = sum(ENTRY["front_call"]) / 2
    assert mark.mid == pytest.approx(4.00 - front_mid)
    assert mark.natural == pytest.approx(3.90 - ENTRY["front_call"][1])
    trade = PaperTrade.objects.get()
    assert not trade.last_mark_complete
    legs = {leg["leg"]: leg for leg in trade.last_mark_legs}
    assert legs["front_call"]["quoted_at"] == "2025-03-04T16:00:00+00:00"
    assert legs["back_call"]["quoted_at"] == MONDAY.isoformat()


def test_a_scan_of_other_contracts_does_not_mark_and_an_older_chain_never_replaces_a_newer_mark(postgres):
    signal = qualifying()
    store(signal)
    moved = qualifying(ff=0.05)  # the ATM strike moved: other contracts, same expiries
    for leg in moved["legs"]:
        leg["strike"] = 105.0
    moved["as_of"] = MONDAY.isoformat()
    store(moved)
    assert not Mark.objects.exists()
    store(later(signal, MONDAY, QUOTES))
    store(later(signal, datetime(2025, 3, 7, 15, 0, tzinfo=UTC), {"front_call": (1, 2), "back_call": (3, 4)}))
    assert Mark.objects.count() == 1
    assert PaperTrade.objects.get().last_mark_at == MONDAY


def test_stale_quotes_mark_the_trade_but_not_as_a_complete_mark(postgres):
    signal = qualifying()
    store(signal)
    stale = later(signal, MONDAY, QUOTES)
    stale["flags"] = ["stale_quotes"]
    store(stale)
    assert Mark.objects.get().flags == ["stale_quotes"]
    assert not PaperTrade.objects.get().last_mark_complete


@pytest.mark.parametrize("open_trades", [2, 12])
def test_a_scan_takes_the_same_number_of_queries_however_many_trades_it_marks(postgres, open_trades):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from testing.factories import saved_signals
    from trades.service import trade_signals

    signals = [qualifying(pair=f"{30 + i}-{60 + i}") for i in range(open_trades)]
    store(*signals)
    rows = saved_signals(*(later(s, MONDAY, QUOTES) for s in signals))
    with CaptureQueriesContext(connection) as queries:
        trade_signals(rows[0].scan, rows)
    assert Mark.objects.count() == open_trades
    # lock the open trades, update them, insert the marks, lock the users' placed trades (none here),
    # look for due trades, insert new trades
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == 6, statements
