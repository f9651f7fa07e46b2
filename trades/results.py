"""The track record's results: closed paper trades grouped by FF bucket, pair, structure and earnings.

Each row: how many trades closed, the win rate (P&L after commissions above zero, at the realistic
fill), mean / median / worst return on debit, and cumulative P&L per spread, at the mid and at the
realistic fill. Returns are fractions (0.12 = 12 %).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from trades.models import PaperTrade

# Lower bounds of the FF buckets, ascending; a bucket runs to the next bound (the last one has none).
FF_BUCKETS = ((0.20, "0.20–0.30"), (0.30, "0.30–0.50"), (0.50, "≥ 0.50"))
BELOW = "< 0.20"


def ff_bucket(ff: float) -> str:
    """The bucket of a reference FF (a trade opened under a lower TRADES_MIN_FF lands in "< 0.20")."""
    label = BELOW
    for bound, name in FF_BUCKETS:
        if ff >= bound:
            label = name
    return label


@dataclass(frozen=True)
class Row:
    group: str  # "all", "FF bucket", "pair", "structure", "earnings in window"
    value: str
    count: int
    win_rate: float  # realistic fill
    mean_return_mid: float | None
    mean_return_fill: float | None
    median_return_fill: float | None
    worst_return_fill: float | None
    pnl_mid: float  # cumulative, per spread
    pnl_fill: float


GROUPINGS: tuple[tuple[str, Callable[[PaperTrade], str]], ...] = (
    ("FF bucket", lambda t: ff_bucket(t.ff)),
    ("pair", lambda t: t.pair),
    ("structure", lambda t: t.structure),
    ("earnings in window", lambda t: "yes" if t.earnings_in_window else "no"),
)


def row(group: str, value: str, trades: Sequence[PaperTrade]) -> Row:
    mids = [t.return_mid for t in trades if t.return_mid is not None]
    fills = [t.return_fill for t in trades if t.return_fill is not None]
    return Row(
        group=group,
        value=value,
        count=len(trades),
        win_rate=sum(1 for t in trades if t.pnl_fill > 0) / len(trades),
        mean_return_mid=statistics.fmean(mids) if mids else None,
        mean_return_fill=statistics.fmean(fills) if fills else None,
        median_return_fill=statistics.median(fills) if fills else None,
        worst_return_fill=min(fills) if fills else None,
        pnl_mid=round(sum(t.pnl_mid for t in trades), 2),
        pnl_fill=round(sum(t.pnl_fill for t in trades), 2),
    )


def table(trades: Iterable[PaperTrade] | None = None) -> list[Row]:
    """Every closed trade, then each grouping's rows (FF buckets in ascending order, others sorted)."""
    closed = list(PaperTrade.objects.filter(status=PaperTrade.Status.CLOSED) if trades is None else trades)
    return [row(group, value, members) for group, value, members in grouped(closed)]


def grouped(closed: Sequence[PaperTrade]) -> list[tuple[str, str, list[PaperTrade]]]:
    """(group, value, its trades) in the table's order: "all" first; none when there is no trade."""
    if not closed:
        return []
    out = [("all", "all", list(closed))]
    order = [BELOW] + [name for _, name in FF_BUCKETS]
    for group, key in GROUPINGS:
        groups: dict[str, list[PaperTrade]] = {}
        for trade in closed:
            groups.setdefault(key(trade), []).append(trade)
        values = sorted(groups, key=order.index) if group == "FF bucket" else sorted(groups)
        out.extend((group, value, groups[value]) for value in values)
    return out


@dataclass(frozen=True)
class MidFigures:
    """The figures a Row gives at the realistic fill only, at the mid: the page shows both models."""

    win_rate: float  # P&L at the mid, after commissions, above zero
    median_return: float | None
    worst_return: float | None


def at_mid(trades: Sequence[PaperTrade]) -> MidFigures:
    mids = [t.return_mid for t in trades if t.return_mid is not None]
    return MidFigures(
        win_rate=sum(1 for t in trades if t.pnl_mid > 0) / len(trades),
        median_return=statistics.median(mids) if mids else None,
        worst_return=min(mids) if mids else None,
    )
