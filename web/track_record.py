"""What the public track record page shows, read from the stored paper trades only, in a fixed number of
queries: one for the closed trades (every figure but their legs' JSON), one for the open count.

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
    closed = list(
        PaperTrade.objects.filter(status=PaperTrade.Status.CLOSED).defer(*UNREAD).order_by("-closed_at", "-pk")
    )
    rows = [GroupRow(results.row(g, v, members), results.at_mid(members)) for g, v, members in results.grouped(closed)]
    groups = [(name, list(members)) for name, members in groupby(rows[1:], key=lambda r: r.row.group)]
    return TrackRecord(
        open_count=PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count(),
        closed_count=len(closed),
        overall=rows[0] if rows else None,
        groups=groups,
        recent=Paginator(closed, PER_PAGE).get_page(page_number),
        pnl_chart=pnl_chart(closed),
        bucket_chart=bucket_chart(dict(groups).get("FF bucket", [])),
        fill_share=settings.TRADES_FILL_SHARE,
        commission_per_contract=settings.TRADES_COMMISSION_PER_CONTRACT,
    )


def pnl_chart(closed: list[PaperTrade]) -> dict:
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
