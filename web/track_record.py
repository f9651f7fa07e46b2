"""What the public track record page shows, read from the stored paper trades only, in a fixed number of
queries: one for the closed trades' figures the aggregates and charts read, one for the trades of the
page shown (every column but the legs' JSON), one for the open count.

The aggregates are trades/results.py's, the same figures `manage.py track_record` prints, with the mid
model's median, worst and win rate beside the realistic fill's. The recent-trades table pages through
the closed trades already read for the aggregates, so a page costs the same queries at any page.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.paginator import Page, Paginator

from trades import results
from trades.models import PaperTrade
from web.templatetags.trader_format import structure_label

NEW_YORK = ZoneInfo("America/New_York")
PER_PAGE = 50
# The page never reads the legs' quotes: the biggest columns, and nothing the page shows.
UNREAD = ("legs", "last_mark_legs")


class ClosedFigures(NamedTuple):
    """The columns of a closed trade that trades/results.py and the charts read, by the same names:
    building 2,000 model instances would cost several times the page's whole budget."""

    pk: int
    closed_at: datetime
    ff: float
    pair: str
    structure: str
    earnings_in_window: bool
    pnl_mid: float
    pnl_fill: float
    return_mid: float | None
    return_fill: float | None


@dataclass(frozen=True)
class GroupRow:
    """One row of an aggregates table: the realistic fill's figures (Row) and the mid's (MidFigures)."""

    row: results.Row
    mid: results.MidFigures

    @property
    def label(self) -> str:
        if self.row.group == "structure":
            return structure_label(self.row.value)
        if self.row.group == "earnings in window":
            return "earnings in the window" if self.row.value == "yes" else "no earnings in the window"
        return "All closed trades" if self.row.group == "all" else self.row.value


@dataclass
class TrackRecord:
    open_count: int
    closed_count: int
    overall: GroupRow | None
    groups: list[tuple[str, list[GroupRow]]]  # FF bucket, pair, structure, earnings in window
    recent: Page
    pnl_chart: dict = field(default_factory=dict)
    bucket_chart: dict = field(default_factory=dict)
    fill_share: float = 0.0
    commission_per_contract: float = 0.0


def track_record(page_number: str | None) -> TrackRecord:
    closed = [
        ClosedFigures(*values)
        for values in PaperTrade.objects.filter(status=PaperTrade.Status.CLOSED)
        .order_by("-closed_at", "-pk")
        .values_list(*ClosedFigures._fields)
    ]
    rows = [GroupRow(results.row(g, v, members), results.at_mid(members)) for g, v, members in results.grouped(closed)]
    groups = [(name, list(members)) for name, members in groupby(rows[1:], key=lambda r: r.row.group)]
    recent = Paginator(closed, PER_PAGE).get_page(page_number)
    if recent.object_list:
        shown = PaperTrade.objects.defer(*UNREAD).in_bulk([c.pk for c in recent.object_list])
        recent.object_list = [shown[c.pk] for c in recent.object_list]
    return TrackRecord(
        open_count=PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count(),
        closed_count=len(closed),
        overall=rows[0] if rows else None,
        groups=groups,
        recent=recent,
        pnl_chart=pnl_chart(closed),
        bucket_chart=bucket_chart(dict(groups).get("FF bucket", [])),
        fill_share=settings.TRADES_FILL_SHARE,
        commission_per_contract=settings.TRADES_COMMISSION_PER_CONTRACT,
    )


def pnl_chart(closed: list[ClosedFigures]) -> dict:
    """Cumulative P&L per spread by close time (Unix seconds), both models; trades closing at the same
    moment (an exit time is shared by every trade of an expiry) make one point."""
    times: list[int] = []
    fill: list[float] = []
    mid: list[float] = []
    total_fill = total_mid = 0.0
    for trade in sorted(closed, key=lambda t: (t.closed_at, t.pk)):
        total_fill += trade.pnl_fill
        total_mid += trade.pnl_mid
        moment = int(trade.closed_at.timestamp())
        if times and times[-1] == moment:
            fill[-1], mid[-1] = round(total_fill, 2), round(total_mid, 2)
        else:
            times.append(moment)
            fill.append(round(total_fill, 2))
            mid.append(round(total_mid, 2))
    return {"times": times, "fill": fill, "mid": mid}


def bucket_chart(buckets: list[GroupRow]) -> dict:
    """Mean and median return on debit per FF bucket (fractions), realistic fill and mid."""
    return {
        "buckets": [b.row.value for b in buckets],
        "counts": [b.row.count for b in buckets],
        "mean_fill": [b.row.mean_return_fill for b in buckets],
        "median_fill": [b.row.median_return_fill for b in buckets],
        "mean_mid": [b.row.mean_return_mid for b in buckets],
        "median_mid": [b.mid.median_return for b in buckets],
    }


# --- CSV of every trade ------------------------------------------------------------------------------

CSV_FIELDS = [f for f in PaperTrade._meta.concrete_fields]
CSV_HEADER = [f.attname for f in CSV_FIELDS]


class _Echo:
    """A file whose write returns the line, so csv.writer can feed a streamed response."""

    def write(self, value: str) -> str:
        return value


def csv_lines() -> Iterator[str]:
    """Every paper trade, open and closed, oldest first, with every stored column (legs and last mark as
    JSON, times in New York with their offset, floats at full precision)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    rows = PaperTrade.objects.order_by("opened_at", "pk").values_list(*CSV_HEADER)
    for values in rows.iterator(chunk_size=2000):
        yield writer.writerow([_cell(value) for value in values])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(NEW_YORK).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
