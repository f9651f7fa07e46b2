"""The heartbeat: rescan watched tickers that no scan has touched for a while (moves or not)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def stale_tickers(watched: Iterable[str], scanned_since: datetime) -> list[str]:
    """Watched tickers without a scan at or after ``scanned_since`` (never scanned included), sorted."""
    from scanner.models import Ticker

    watched = set(watched)
    fresh = set(
        Ticker.objects.filter(symbol__in=watched, last_scan_at__gte=scanned_since).values_list("symbol", flat=True)
    )
    return sorted(watched - fresh)
