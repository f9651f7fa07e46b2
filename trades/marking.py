"""Marking open paper trades from quotes of their legs: a scan's (the legs its signals carry) or the
daily targeted fetch's (``trades.daily_marks``); one computation for both.

A scan's Signal rows hold the legs (bid, ask, mid) of every pair and structure it evaluated. Any open
trade of the ticker whose contracts (type, expiry, strike) appear among them is marked: the closing
credit at the mid, at the natural and at the realistic fill. A leg the scan did not quote keeps its
last quote, and the mark says so (``unquoted``, flag ``leg_unquoted``); a mark quoting none of the
trade's legs is not taken. A mark from stale quotes is flagged ``stale_quotes``. Only a complete mark
(every leg quoted, fresh) can trigger the take-profit or count as quoted at the exit.

Users' placed trades ("I placed this") are marked by the same scan or daily fetch: one whose spread
has a paper trade marked by it takes that mark (no second row); any other is marked the same way into
its own PlacedMark rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db.models import QuerySet

from scanner.models import Scan, Signal
from trades import exits, fills
from trades.models import Mark, PaperTrade, PlacedMark, PlacedTrade
from trades.opening import QUOTE_KEYS

LAST_MARK_FIELDS = ["last_mark_at", "last_mark_legs", "last_mark_mid", "last_mark_fill", "last_mark_complete"]


Contract = tuple[str, str, float]  # contract type, expiry (ISO date), strike
# Each quoted contract's {"bid", "ask", "mid", "stale"}: from a scan's signals or the daily fetch.
Quotes = Mapping[Contract, Mapping]


def contract(leg: Mapping) -> Contract:
    return leg["contract_type"], leg["expiry"], float(leg["strike"])


def scan_quotes(signals: Sequence[Signal]) -> dict[Contract, dict]:
    """Every contract the scan's signals quote, with its quote and whether the signal called it stale."""
    quotes = {}
    for signal in signals:
        stale = "stale_quotes" in signal.data["flags"]
        for leg in signal.data["legs"]:
            quotes[contract(leg)] = {"bid": leg["bid"], "ask": leg["ask"], "mid": leg["mid"], "stale": stale}
    return quotes


def mark_open_trades(scan: Scan, signals: Sequence[Signal]) -> list[Mark]:
    """Mark the ticker's open trades from this scan's quotes; take profit where the rule says so."""
    if not signals:
        return []
    at = signals[0].as_of
    trades = PaperTrade.objects.filter(ticker=scan.ticker, status=PaperTrade.Status.OPEN, opened_at__lt=at)
    quotes = {scan.ticker: scan_quotes(signals)}
    marks = mark_trades(trades, quotes, at, scan=scan)
    placed = PlacedTrade.objects.filter(ticker=scan.ticker, status=PlacedTrade.Status.OPEN, quoted_at__lt=at)
    mark_placed_trades(placed, quotes, at, marks, scan=scan)
    return marks


def mark_trades(
    trades: QuerySet[PaperTrade], quotes: Mapping[str, Quotes], at: datetime, scan: Scan | None = None
) -> list[Mark]:
    """Mark ``trades`` from ``quotes`` by ticker (a scan's, or the daily targeted fetch's: ``scan`` None)
    taken at ``at``. The caller holds a transaction: the trades are locked while they are marked."""
    marks, marked = [], []
    # Locked in key order: two markers of the same trades cannot deadlock, nor overwrite each other.
    for trade in trades.select_for_update().order_by("pk"):
        fresh = new_mark(trade, quotes, at, scan)
        if fresh is None:
            continue
        fields, credit = fresh
        marks.append(Mark(trade=trade, **fields))
        if trade.last_mark_complete and exits.take_profit_reached(trade, credit):
            exits.close(trade, PaperTrade.ExitReason.TAKE_PROFIT, at)
        else:
            marked.append(trade)
    # One UPDATE and one INSERT however many trades are marked.
    PaperTrade.objects.bulk_update(marked, LAST_MARK_FIELDS)
    Mark.objects.bulk_create(marks)
    return marks


def mark_placed_trades(
    placed: QuerySet[PlacedTrade],
    quotes: Mapping[str, Quotes],
    at: datetime,
    paper_marks: Sequence[Mark],
    scan: Scan | None = None,
) -> int:
    """Mark open placed trades: the fresh mark of their paper trade, else their own; how many."""
    shared_by_trade = {mark.trade_id: mark for mark in paper_marks}
    own, updated = [], []
    for trade in placed.select_for_update().order_by("pk"):
        shared = shared_by_trade.get(trade.paper_trade_id) if trade.paper_trade_id else None
        if shared is not None and (trade.last_mark_at is None or trade.last_mark_at < at):
            trade.last_mark_at, trade.last_mark_legs = at, shared.legs
            trade.last_mark_mid, trade.last_mark_fill, trade.last_mark_complete = (
                shared.mid,
                shared.fill,
                not shared.flags,
            )
        else:
            fresh = new_mark(trade, quotes, at, scan)
            if fresh is None:
                continue
            own.append(PlacedMark(placed=trade, **fresh[0]))
        updated.append(trade)
    PlacedTrade.objects.bulk_update(updated, LAST_MARK_FIELDS)
    PlacedMark.objects.bulk_create(own)
    return len(updated)


def new_mark(
    trade: PaperTrade | PlacedTrade, quotes: Mapping[str, Quotes], at: datetime, scan: Scan | None
) -> tuple[dict, fills.Prices] | None:
    """A mark's fields for ``trade`` at these quotes and its closing credit (the trade's last-mark fields
    set to it), or None when the quotes are older than its last mark or quote none of its legs."""
    if trade.last_mark_at is not None and trade.last_mark_at >= at:
        return None  # older quotes (a late retry) never replace a newer mark
    legs, unquoted, flags = marked_legs(trade.legs, trade.last_mark_legs, quotes.get(trade.ticker, {}), at.isoformat())
    if len(unquoted) == len(legs):
        return None
    credit = fills.closing_credit(legs, trade.fill_share)
    trade.last_mark_at, trade.last_mark_legs = at, legs
    trade.last_mark_mid, trade.last_mark_fill, trade.last_mark_complete = credit.mid, credit.fill, not flags
    return {
        "scan": scan,
        "at": at,
        "legs": legs,
        "mid": credit.mid,
        "natural": credit.natural,
        "fill": credit.fill,
        "unquoted": unquoted,
        "flags": flags,
    }, credit


def marked_legs(
    trade_legs: Sequence[Mapping], last_legs: Sequence[Mapping], quotes: Quotes, quoted_at: str
) -> tuple[list[dict], list[str], list[str]]:
    """A trade's legs at these quotes (the last quote where unquoted), the unquoted legs, the flags."""
    previous = {leg["leg"]: leg for leg in (last_legs or trade_legs)}
    legs, unquoted, stale = [], [], False
    for leg in trade_legs:
        quote = quotes.get(contract(leg))
        if quote is None:
            unquoted.append(leg["leg"])
            legs.append(previous[leg["leg"]])
            continue
        stale = stale or quote["stale"]
        legs.append({**{k: leg[k] for k in QUOTE_KEYS[:4]}, **_prices(quote), "quoted_at": quoted_at})
    flags = (["leg_unquoted"] if unquoted else []) + (["stale_quotes"] if stale else [])
    return legs, unquoted, flags


def _prices(quote: Mapping) -> dict:
    return {"bid": quote["bid"], "ask": quote["ask"], "mid": quote["mid"]}
