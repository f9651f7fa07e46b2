"""The reference table of optionable underlyings: the tickers a trader may follow.

The vendor lists every option contract (`/v3/reference/options/contracts`) but not the underlyings
as one short list; the service already learns which tickers list options (each scan, and each
universe refresh's options checks recorded on Ticker). The table follows that knowledge.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from scanner.models import OptionableUnderlying, Ticker


def refresh_optionable_underlyings() -> int:
    """Add every ticker known to list options, drop those known not to; returns the table's size."""
    now = timezone.now()
    listed = list(Ticker.objects.filter(has_options=True).values_list("symbol", flat=True))
    with transaction.atomic():
        OptionableUnderlying.objects.bulk_create(
            [OptionableUnderlying(symbol=symbol, refreshed_at=now) for symbol in listed],
            update_conflicts=True,
            unique_fields=["symbol"],
            update_fields=["refreshed_at"],
        )
        unlisted = Ticker.objects.filter(has_options=False).values("symbol")
        OptionableUnderlying.objects.filter(symbol__in=unlisted).delete()
    return OptionableUnderlying.objects.count()


def known_optionable(symbols: list[str]) -> set[str]:
    """The given symbols that are in the table (one query)."""
    return set(OptionableUnderlying.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))
