"""The daily targeted mark against the simulated market on loopback: one filtered chain snapshot per
(underlying, expiry) shared by every trade with a leg there, marks from those quotes with the scans'
fill model, a vanished leg keeping its last quote (flagged), and the due trades closing on the fresh mark."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.trades.builders import qualifying, store
from trades import daily_marks, fills
from trades.models import Mark, PaperTrade
from trades.tasks import mark_open_trades

pytestmark = pytest.mark.django_db

SESSION = date(2025, 6, 5)  # a Thursday; the 2025-06-06 fronts exit today at 15:45 New York (19:45 UTC)
OPENED = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)
WINDOW = datetime(2025, 6, 5, 19, 41, tzinfo=UTC)  # 15:41 New York: the daily mark's window began at 15:40
AFTER_EXIT = datetime(2025, 6, 5, 19, 46, tzinfo=UTC)
W1, W2, W3 = "2025-06-06", "2025-06-13", "2025-06-20"
VANISHED = 80.5  # the simulated grid is $1 wide here: no such contract is listed


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, speed=0, session_date=SESSION, start_at=WINDOW).start()
    server.add_ticker("AAA", price=80.0, volume=20_000_000)
    server.add_ticker("BBB", price=150.0, volume=20_000_000)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def spread(ticker: str, front: str, back: str, strike: float, put_strike: float | None = None, back_strike=None):
    """A qualifying calendar (a double one with ``put_strike``) on these listed contracts, opened on OPENED."""
    structure = "double_calendar" if put_strike is not None else "atm_call_calendar"
    signal = qualifying(structure, as_of=OPENED, ticker=ticker)
    signal.update(front_expiry=front, back_expiry=back, strike=strike)
    if put_strike is not None:
        signal["put_strike"] = put_strike
    for leg in signal["legs"]:
        leg["expiry"] = front if leg["leg"].startswith("front") else back
        leg["strike"] = put_strike if leg["contract_type"] == "put" else strike
    if back_strike is not None:
        signal["legs"][1]["strike"] = back_strike
    return signal


@pytest.fixture
def trades(sim) -> list[PaperTrade]:
    """Seven trades on two underlyings: AAA uses three expiries, BBB two; five (underlying, expiry) in all."""
    store(
        spread("AAA", W1, W2, 79.0),
        spread("AAA", W1, W2, 80.0),
        spread("AAA", W1, W2, 81.0),
        spread("AAA", W2, W3, 82.0, put_strike=78.0),
        spread("AAA", W1, W2, 78.0, back_strike=VANISHED),  # its back leg is not listed
    )
    store(spread("BBB", W2, W3, 150.0), spread("BBB", W2, W3, 151.0))
    assert PaperTrade.objects.count() == 7
    return list(PaperTrade.objects.order_by("pk"))


def chain_requests(sim) -> int:
    return sim.stats().get("rest:options_chain", 0)


def test_one_filtered_request_per_underlying_and_expiry_marks_every_trade(sim, trades):
    before = chain_requests(sim)
    report = daily_marks.mark_open_trades(sim.now(), since=daily_marks.mark_window_start(sim.now()))
    # exactly one request per (underlying, expiry): AAA 06-06, 06-13, 06-20 and BBB 06-13, 06-20
    assert chain_requests(sim) - before == 5 == report.requests == report.fetches
    assert report.trades == 7 == report.marked and report.closed == 0 and not report.failed
    for trade in PaperTrade.objects.all():
        mark = Mark.objects.get(trade=trade)
        assert mark.scan_id is None and mark.at == WINDOW
        assert mark.fill == pytest.approx(fills.closing_credit(mark.legs, trade.fill_share).fill)
        assert mark.mid == pytest.approx(fills.closing_credit(mark.legs, 0).fill)
        assert (trade.last_mark_at, trade.last_mark_fill) == (mark.at, mark.fill)
        fresh = [leg for leg in mark.legs if leg["quoted_at"] == WINDOW.isoformat()]
        for leg in fresh:
            assert 0 < leg["bid"] <= leg["ask"] and leg["mid"] == pytest.approx((leg["bid"] + leg["ask"]) / 2)
        if VANISHED in [leg["strike"] for leg in trade.legs]:
            continue
        assert len(fresh) == len(trade.legs) and mark.unquoted == [] and trade.last_mark_complete
    # the quotes are the market's: as an unfiltered request for the whole expiry quotes them
    from forwardfactor.runtime import market_provider

    whole = market_provider().client.option_chain_pages("BBB", expiration_date=date(2025, 6, 13))
    rows = {
        r["details"]["strike_price"]: r["last_quote"]
        for p in whole.pages
        for r in json.loads(p.raw)["results"]
        if r["details"]["contract_type"] == "call"
    }
    leg = Mark.objects.get(trade__ticker="BBB", trade__strike=150.0).legs[0]
    assert (leg["bid"], leg["ask"]) == (rows[150]["bid"], rows[150]["ask"])
    # a second run in the window fetches nothing: every trade but the vanished leg's is marked in full
    again = daily_marks.mark_open_trades(sim.now(), since=daily_marks.mark_window_start(sim.now()))
    assert (again.trades, again.fetches) == (1, 2)  # AAA 06-06 and 06-13


def test_a_vanished_leg_keeps_its_last_quote_and_the_mark_says_so(sim, trades):
    trade = next(t for t in trades if t.legs[1]["strike"] == VANISHED)
    daily_marks.mark_open_trades(sim.now())
    trade.refresh_from_db()
    mark = Mark.objects.get(trade=trade)
    assert mark.unquoted == ["back_call"] and mark.flags == ["leg_unquoted"]
    assert mark.legs[1] == trade.legs[1]  # never marked before: its entry quote
    assert mark.legs[0]["quoted_at"] == WINDOW.isoformat() and not trade.last_mark_complete
    assert (trade.status, trade.last_mark_fill) == (PaperTrade.Status.OPEN, mark.fill)


def test_a_due_trade_closes_on_the_fresh_mark_and_one_without_a_full_quote_as_no_quote(sim, trades):
    sim.clock.set(AFTER_EXIT)
    assert mark_open_trades.apply().get()["closed"] == 4  # the four trades with a 06-06 front
    due = PaperTrade.objects.filter(front_expiry=date(2025, 6, 6))
    for trade in due:
        mark = Mark.objects.get(trade=trade)
        assert trade.status == PaperTrade.Status.CLOSED and trade.closed_at == AFTER_EXIT
        assert trade.exit_fill == pytest.approx(mark.fill) and trade.exit_mid == pytest.approx(mark.mid)
        vanished = trade.legs[1]["strike"] == VANISHED
        assert trade.exit_reason == (PaperTrade.ExitReason.NO_QUOTE if vanished else PaperTrade.ExitReason.EXIT_RULE)
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() == 3


def test_the_task_does_nothing_before_the_window_nor_outside_a_session(sim, trades):
    for at in (
        WINDOW - timedelta(minutes=2),
        datetime(2025, 6, 5, 20, 30, tzinfo=UTC),
        datetime(2025, 6, 7, 19, 41, tzinfo=UTC),
    ):
        sim.clock.set(at)
        before = chain_requests(sim)
        assert "skipped" in mark_open_trades.apply().get()
        assert chain_requests(sim) == before
    assert not Mark.objects.exists()


def test_the_window_starts_before_the_default_exit_also_on_an_early_close():
    # 15:40 New York on a full session; 12:40 on the day after Thanksgiving (close at 13:00)
    assert daily_marks.mark_window_start(WINDOW) == datetime(2025, 6, 5, 19, 40, tzinfo=UTC)
    early = datetime(2025, 11, 28, 17, 41, tzinfo=UTC)
    assert daily_marks.mark_window_start(early) == datetime(2025, 11, 28, 17, 40, tzinfo=UTC)
    assert daily_marks.mark_window_start(WINDOW - timedelta(minutes=2)) is None


def test_fetches_group_legs_by_underlying_and_expiry_with_their_strike_band(sim, trades):
    fetches = daily_marks.fetches_for(trades)
    assert sorted(fetches) == [
        ("AAA", date(2025, 6, 6)),
        ("AAA", date(2025, 6, 13)),
        ("AAA", date(2025, 6, 20)),
        ("BBB", date(2025, 6, 13)),
        ("BBB", date(2025, 6, 20)),
    ]
    middle = fetches[("AAA", date(2025, 6, 13))]
    assert (middle.strike_gte, middle.strike_lte, middle.contract_type) == (78.0, 82.0, None)
    first = fetches[("AAA", date(2025, 6, 6))]
    assert (first.strike_gte, first.strike_lte, first.contract_type) == (78.0, 81.0, "call")


def test_a_failed_request_marks_none_of_its_trades_and_the_retry_fetches_only_what_is_missing(sim, trades):
    from scanner.polygon.client import PolygonClient
    from scanner.polygon.errors import TransientError

    since = daily_marks.mark_window_start(sim.now())
    sim.set_faults(server_errors=1)  # one request fails, and this client does not retry it itself
    client = PolygonClient(sim.rest_url, "simulated-market-key", max_retries=0)
    with pytest.raises(TransientError):
        daily_marks.mark_open_trades(sim.now(), since=since, client=client)
    first = Mark.objects.count()
    assert 0 < first < 7
    # the retry fetches the groups of the trades still without a full mark, and marks each trade once
    before = chain_requests(sim)
    report = daily_marks.mark_open_trades(sim.now(), since=since)
    assert not report.failed and chain_requests(sim) - before == report.fetches < 5
    assert sorted(Mark.objects.values_list("trade_id", flat=True)) == sorted(t.pk for t in trades)


def placed_copy(trade: PaperTrade, email: str, shares_paper_trade: bool):
    """A user's placed trade of the same spread as ``trade`` (linked to it or not)."""
    from testing.factories import user
    from trades.models import PlacedTrade

    return PlacedTrade.objects.create(
        user=user(email),
        alert_id=trade.pk,
        paper_trade=trade if shares_paper_trade else None,
        quoted_at=trade.opened_at,
        placed_at=trade.opened_at,
        realistic_fill=trade.entry_fill,
        fill_share=trade.fill_share,
        commission_per_contract=trade.commission_per_contract,
        **{f: getattr(trade, f) for f in ("ticker", "structure", "pair", "front_expiry", "back_expiry", "strikes")},
        **{f: getattr(trade, f) for f in ("strike", "put_strike", "legs")},
    )


def test_placed_trades_are_marked_by_the_same_fetches(sim, trades):
    from trades.models import PlacedMark

    # given a user's placed trade sharing a paper trade's marks, and another's on its own (a spread the
    # paper trades do not hold: the paper trade it copies is closed first)
    shared = placed_copy(trades[0], "shared@x.test", shares_paper_trade=True)
    alone_of = next(t for t in trades if t.ticker == "BBB")
    alone = placed_copy(alone_of, "alone@x.test", shares_paper_trade=False)
    PaperTrade.objects.filter(pk=alone_of.pk).update(status=PaperTrade.Status.CLOSED)
    before = chain_requests(sim)
    # when the daily mark runs
    report = daily_marks.mark_open_trades(sim.now(), since=daily_marks.mark_window_start(sim.now()))
    # then both are marked by the same five fetches (the closed paper trade's expiries are the placed one's)
    assert chain_requests(sim) - before == 5 == report.fetches
    assert (report.trades, report.marked, report.placed, report.placed_marked) == (6, 6, 2, 2)
    shared.refresh_from_db()
    paper_mark = Mark.objects.get(trade=trades[0])
    assert (shared.last_mark_at, shared.last_mark_fill) == (WINDOW, paper_mark.fill)
    assert not PlacedMark.objects.filter(placed=shared).exists()  # the paper trade's mark is its mark
    alone.refresh_from_db()
    own = PlacedMark.objects.get(placed=alone)
    assert own.scan_id is None and own.at == WINDOW and alone.last_mark_complete
    assert own.fill == pytest.approx(fills.closing_credit(own.legs, alone.fill_share).fill)
    assert alone.last_mark_fill == own.fill
    # and a second run in the window fetches nothing for them
    again = daily_marks.mark_open_trades(sim.now(), since=daily_marks.mark_window_start(sim.now()))
    assert again.placed == 0
