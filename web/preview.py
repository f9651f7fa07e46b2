"""The public home page's preview: the strongest passing signals, delayed, from stored rows only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scanner.models import Signal

PREVIEW_DELAY = timedelta(minutes=15)
# Long enough to span a weekend and a holiday, so the page is not empty on a Monday morning.
PREVIEW_WINDOW = timedelta(days=4)
PREVIEW_SIZE = 10
# Rows read to find PREVIEW_SIZE distinct tickers: a ticker scanned all day repeats its strongest pair.
_CANDIDATES = 20 * PREVIEW_SIZE


@dataclass(frozen=True)
class PreviewSignal:
    ticker: str
    structure: str
    pair: str
    front_expiry: date
    back_expiry: date
    ff: float
    as_of: datetime


def strongest_signals(now: datetime) -> list[PreviewSignal]:
    """The strongest liquid signal of up to PREVIEW_SIZE tickers, seen at least PREVIEW_DELAY ago (one query)."""
    cutoff = now - PREVIEW_DELAY
    rows = (
        Signal.objects.filter(
            as_of__lte=cutoff, as_of__gt=cutoff - PREVIEW_WINDOW, passes_liquidity=True, ff__isnull=False
        )
        .order_by("-ff", "-as_of")
        .values_list("ticker", "structure", "pair", "front_expiry", "back_expiry", "ff", "as_of")[:_CANDIDATES]
    )
    strongest: dict[str, PreviewSignal] = {}
    for row in rows:
        signal = PreviewSignal(*row)
        strongest.setdefault(signal.ticker, signal)
        if len(strongest) == PREVIEW_SIZE:
            break
    return list(strongest.values())
