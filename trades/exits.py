"""When and at what a paper trade closes.

By default at ``TRADES_EXIT_MINUTES_BEFORE_CLOSE`` before the close of the last NYSE session before the
front expiry (the front legs are never held into their expiry day); earlier when ``TRADES_MAX_HOLD_DAYS``
runs out first, or at a mark whose realistic P&L reaches ``TRADES_TAKE_PROFIT_PCT`` of the debit. The
maximum hold ends at the same time of day as the rule's exit: of the session in which the hold runs out,
or of the next session when it runs out after that time, overnight, on a weekend or a holiday. So every
exit falls in a session, just after the daily targeted mark, and is judged on that session's quotes.

A trade closes at its last mark with the entry's fill model. When no mark quoting every leg was taken in
the session of its exit time (legs delisted or halted, or simply not scanned that day), it closes at
the last mark anyway, as ``no_quote``, flagged: the record keeps it rather than dropping a loser.
"""

from __future__ import annotations

import functools
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from market.calendar import session_after, session_before
from market.clock import session_bounds, trading_day
from trades import fills
from trades.models import PaperTrade

logger = logging.getLogger(__name__)


def rule_exit_at(front_expiry: date) -> datetime:
    """The default exit: some minutes before the close of the last session before the front expiry."""
    return close_before(front_expiry) - timedelta(minutes=settings.TRADES_EXIT_MINUTES_BEFORE_CLOSE)


def session_exit_at(day: date) -> datetime:
    """The exit time of the session on ``day``: some minutes before its close."""
    return session_bounds(day)[1] - timedelta(minutes=settings.TRADES_EXIT_MINUTES_BEFORE_CLOSE)


def first_exit_at_or_after(at: datetime) -> datetime:
    """The first session exit time at or after ``at``."""
    day = trading_day(at)  # a weekend or holiday: the session before, whose exit has passed
    exit_at = session_exit_at(day)
    return exit_at if exit_at >= at else session_exit_at(session_after(day))


@functools.lru_cache(maxsize=1024)
def close_before(front_expiry: date) -> datetime:
    """The close of the last NYSE session before ``front_expiry`` (cached: a scan asks it per signal)."""
    return session_bounds(session_before(front_expiry))[1]


def exit_due_at(front_expiry: date, opened_at: datetime) -> datetime:
    """The exit rule's time, or the session exit ending the maximum hold when that comes first."""
    due = rule_exit_at(front_expiry)
    if settings.TRADES_MAX_HOLD_DAYS:
        due = min(due, first_exit_at_or_after(opened_at + timedelta(days=settings.TRADES_MAX_HOLD_DAYS)))
    return due


def take_profit_reached(trade: PaperTrade, credit: fills.Prices) -> bool:
    """Whether closing at ``credit`` (realistic fill, both sides' commissions) makes the take-profit."""
    if not settings.TRADES_TAKE_PROFIT_PCT:
        return False
    pnl = fills.pnl_per_spread(trade.entry_fill, credit.fill, trade.entry_commission * 2)
    ratio = fills.return_on_debit(pnl, trade.entry_fill)
    return ratio is not None and ratio * 100 >= settings.TRADES_TAKE_PROFIT_PCT


def close(trade: PaperTrade, reason: str, at: datetime, flags: list[str] = ()) -> None:
    """Close ``trade`` at its last mark (its entry quotes when it was never marked) and save it."""
    credit = fills.closing_credit(trade.last_mark_legs or trade.legs, trade.fill_share)
    trade.status, trade.closed_at, trade.exit_reason = PaperTrade.Status.CLOSED, at, reason
    trade.exit_mid, trade.exit_natural, trade.exit_fill = credit.mid, credit.natural, credit.fill
    trade.exit_commission = fills.commission_per_spread(len(trade.legs), trade.commission_per_contract)
    commissions = trade.entry_commission + trade.exit_commission
    trade.pnl_mid = fills.pnl_per_spread(trade.entry_mid, credit.mid, commissions)
    trade.pnl_fill = fills.pnl_per_spread(trade.entry_fill, credit.fill, commissions)
    trade.return_mid = fills.return_on_debit(trade.pnl_mid, trade.entry_mid)
    trade.return_fill = fills.return_on_debit(trade.pnl_fill, trade.entry_fill)
    trade.flags = sorted({*trade.flags, *flags})
    trade.save()


def quoted_at_exit(trade: PaperTrade) -> bool:
    """A mark quoting every leg was taken in the session of the trade's exit time."""
    return (
        trade.last_mark_complete
        and trade.last_mark_at is not None
        and trading_day(trade.last_mark_at) == trading_day(trade.exit_due_at)
    )


def close_due(trade: PaperTrade, now: datetime) -> None:
    """Close a trade whose exit time has come, by the rule (or the maximum hold) or as ``no_quote``."""
    if not quoted_at_exit(trade):
        close(trade, PaperTrade.ExitReason.NO_QUOTE, now, ["no_quote"])
    elif trade.exit_due_at < rule_exit_at(trade.front_expiry):
        close(trade, PaperTrade.ExitReason.MAX_HOLD, now)
    else:
        close(trade, PaperTrade.ExitReason.EXIT_RULE, now)


def close_due_trades(now: datetime, ticker: str | None = None) -> int:
    """Close every open trade (of ``ticker``) whose exit time is at or before ``now``; how many.

    Rows another closer holds are skipped (it is closing them), so two runs close each trade once.
    """
    due = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN, exit_due_at__lte=now)
    if ticker is not None:
        due = due.filter(ticker=ticker)
    closed = 0
    with transaction.atomic():
        for trade in due.select_for_update(skip_locked=True).order_by("pk"):
            close_due(trade, now)
            closed += 1
    if closed:
        logger.info("closed %d paper trade(s) due by %s", closed, now.isoformat())
    return closed
