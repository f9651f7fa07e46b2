"""Closing paper trades: by the exit rule, on take-profit, at the maximum hold, and without a quote.
P&L and returns are recomputed here from the stored fills."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from market.clock import set_clock_source
from tests.trades.builders import later, qualifying, store
from trades import exits
from trades.models import PaperTrade
from trades.tasks import close_due_trades

pytestmark = pytest.mark.django_db

# The trade: opened Tuesday 2025-03-04, front expiry Thursday 2025-04-03. Its exit: 15 minutes before the
# close of Wednesday 2025-04-02 (16:00 New York, EDT) = 19:45 UTC.
EXIT = datetime(2025, 4, 2, 19, 45, tzinfo=UTC)
EXIT_DAY_MARK = datetime(2025, 4, 2, 18, 0, tzinfo=UTC)
# Closing: sell the back call (bid 2.40, mid 2.50), buy the front call (ask 0.60, mid 0.55).
WINNER = {"front_call": (0.50, 0.60), "back_call": (2.40, 2.60)}
COMMISSIONS = 2 * 2 * 0.65  # two legs, on entry and exit


@pytest.fixture
def trade(postgres) -> tuple[dict, PaperTrade]:
    signal = qualifying()
    store(signal)
    return signal, PaperTrade.objects.get()


@pytest.fixture
def clock():
    def pin(at: datetime) -> None:
        set_clock_source(lambda: at)

    yield pin
    set_clock_source(None)


def assert_pnl_recomputed(trade: PaperTrade) -> None:
    """P&L per spread and return on debit from the stored entry and exit prices, for both fill models."""
    for model in ("mid", "fill"):
        debit, credit = getattr(trade, f"entry_{model}"), getattr(trade, f"exit_{model}")
        pnl = round((credit - debit) * 100 - trade.entry_commission - trade.exit_commission, 2)
        assert getattr(trade, f"pnl_{model}") == pytest.approx(pnl)
        assert getattr(trade, f"return_{model}") == pytest.approx(pnl / (debit * 100))


def test_the_exit_rule_is_15_minutes_before_the_close_of_the_last_session_before_the_front_expiry():
    assert exits.rule_exit_at(date(2025, 4, 3)) == EXIT
    # Good Friday 2025-04-18 is a holiday: a Monday front exits on Thursday
    assert exits.rule_exit_at(date(2025, 4, 21)) == datetime(2025, 4, 17, 19, 45, tzinfo=UTC)
    # the day after Thanksgiving closes at 13:00 New York (18:00 UTC)
    assert exits.rule_exit_at(date(2025, 12, 1)) == datetime(2025, 11, 28, 17, 45, tzinfo=UTC)


def test_a_trade_closes_on_the_rules_day_at_its_last_mark(trade, clock):
    signal, opened = trade
    assert opened.exit_due_at == EXIT
    store(later(signal, EXIT_DAY_MARK, WINNER))
    # a minute before the exit time nothing closes
    assert exits.close_due_trades(datetime(2025, 4, 2, 19, 44, tzinfo=UTC)) == 0
    # when the beat task runs at the exit time (by the market's clock)
    clock(EXIT)
    close_due_trades.apply().get()
    closed = PaperTrade.objects.get()
    assert closed.status == PaperTrade.Status.CLOSED and closed.exit_reason == PaperTrade.ExitReason.EXIT_RULE
    assert closed.closed_at == EXIT and closed.flags == []
    # then the exit prices are the mark's, by hand: mid 2.50 - 0.55, natural 2.40 - 0.60, a quarter between
    assert closed.exit_mid == pytest.approx(1.95)
    assert closed.exit_natural == pytest.approx(1.80)
    assert closed.exit_fill == pytest.approx(1.95 - 0.25 * 0.15)
    assert closed.pnl_mid == pytest.approx((1.95 - 1.25) * 100 - COMMISSIONS)  # 67.40
    assert closed.pnl_fill == pytest.approx((1.9125 - 1.2875) * 100 - COMMISSIONS)  # 59.90
    assert closed.return_fill == pytest.approx(59.90 / 128.75)
    assert_pnl_recomputed(closed)
    # and running the task again closes nothing twice
    assert close_due_trades.apply().get()["closed"] == 0


def test_a_scan_in_the_exit_window_closes_the_trade_at_its_fresh_mark(trade):
    signal, _ = trade
    at = datetime(2025, 4, 2, 19, 50, tzinfo=UTC)
    store(later(signal, at, WINNER))
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.EXIT_RULE and closed.closed_at == at
    assert closed.exit_mid == pytest.approx(1.95)
    assert_pnl_recomputed(closed)


def test_take_profit_closes_at_the_first_mark_reaching_it(trade, settings):
    settings.TRADES_TAKE_PROFIT_PCT = 40
    signal, _ = trade
    # a mark returning 29.90 / 128.75 = 23% (realistic fill, commissions in) leaves it open
    store(
        later(signal, datetime(2025, 3, 10, 15, 0, tzinfo=UTC), {"front_call": (1.50, 1.60), "back_call": (3.10, 3.30)})
    )
    assert PaperTrade.objects.get().status == PaperTrade.Status.OPEN
    # a mark returning 59.90 / 128.75 = 46.5% closes it there
    at = datetime(2025, 3, 11, 15, 0, tzinfo=UTC)
    store(later(signal, at, WINNER))
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.TAKE_PROFIT and closed.closed_at == at
    assert closed.return_fill == pytest.approx(59.90 / 128.75)
    assert_pnl_recomputed(closed)


def test_the_maximum_hold_closes_earlier_than_the_rule(postgres, settings):
    settings.TRADES_MAX_HOLD_DAYS = 7
    signal = qualifying()
    store(signal)
    # opened Tuesday 11:00 New York: seven days run out Tuesday 12:00 EDT, and the trade is due at that
    # session's exit time, 15:45 EDT
    due = datetime(2025, 3, 11, 19, 45, tzinfo=UTC)
    assert PaperTrade.objects.get().exit_due_at == due
    store(later(signal, datetime(2025, 3, 11, 15, 0, tzinfo=UTC), WINNER))
    assert exits.close_due_trades(due) == 1
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.MAX_HOLD
    assert_pnl_recomputed(closed)


def test_a_trade_whose_legs_vanished_closes_as_no_quote_at_its_last_mark(trade):
    # given a last mark three weeks before the exit, then no quote of its legs (delisted, halted)
    signal, _ = trade
    store(later(signal, datetime(2025, 3, 11, 15, 0, tzinfo=UTC), WINNER))
    assert exits.close_due_trades(EXIT) == 1
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.NO_QUOTE and closed.flags == ["no_quote"]
    assert closed.exit_mid == pytest.approx(1.95)  # the last mark's
    assert_pnl_recomputed(closed)


def test_a_leg_unquoted_on_the_exit_day_closes_as_no_quote(trade):
    signal, _ = trade
    store(later(signal, datetime(2025, 3, 11, 15, 0, tzinfo=UTC), WINNER))
    # the exit day's scan quotes the back call only (as the front leg of the 60-90 pair)
    other = qualifying(pair="60-90", ff=0.05, quotes={"front_call": (2.0, 2.2), "back_call": (3.0, 3.2)})
    other["as_of"] = EXIT_DAY_MARK.isoformat()
    store(other)
    exits.close_due_trades(EXIT)
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.NO_QUOTE
    assert closed.exit_mid == pytest.approx(2.10 - 0.55)  # the fresh back call, the front call's last quote
    assert_pnl_recomputed(closed)


def test_a_trade_never_marked_closes_as_no_quote_at_its_entry_quotes_losing_the_spread(trade):
    exits.close_due_trades(EXIT)
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.NO_QUOTE
    # closing at the entry quotes: mid 4.20 - 2.95, natural 4.10 - 3.00
    assert closed.exit_fill == pytest.approx(1.25 - 0.25 * 0.15)
    assert closed.pnl_mid == pytest.approx(-COMMISSIONS)
    assert closed.pnl_fill == pytest.approx((1.2125 - 1.2875) * 100 - COMMISSIONS)  # -10.10
    assert_pnl_recomputed(closed)


@pytest.mark.parametrize(
    ("hold_days", "due"),
    [
        # runs out Saturday 11:00: Monday's exit
        (4, datetime(2025, 3, 10, 19, 45, tzinfo=UTC)),
        # runs out Tuesday 16:59 EST, after that session's exit: Wednesday's
        (0.25, datetime(2025, 3, 5, 20, 45, tzinfo=UTC)),
        # runs out Tuesday 15:00 EST, before its exit: that session's
        (0.17, datetime(2025, 3, 4, 20, 45, tzinfo=UTC)),
    ],
)
def test_the_maximum_hold_ends_at_a_session_exit(postgres, settings, hold_days, due):
    settings.TRADES_MAX_HOLD_DAYS = hold_days
    store(qualifying())
    assert PaperTrade.objects.get().exit_due_at == due


def test_a_hold_running_out_on_a_weekend_closes_at_mondays_complete_mark(postgres, settings):
    # given a trade whose maximum hold runs out on Saturday, marked in full on Monday before its exit
    settings.TRADES_MAX_HOLD_DAYS = 4
    signal = qualifying()
    store(signal)
    store(later(signal, datetime(2025, 3, 10, 19, 40, tzinfo=UTC), WINNER))
    # when the exit task runs at Monday's exit time
    assert exits.close_due_trades(datetime(2025, 3, 10, 19, 45, tzinfo=UTC)) == 1
    # then it closes by the maximum hold at that mark, not as unquoted
    closed = PaperTrade.objects.get()
    assert closed.exit_reason == PaperTrade.ExitReason.MAX_HOLD and "no_quote" not in closed.flags
    assert_pnl_recomputed(closed)
