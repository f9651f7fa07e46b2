"""The reference table of optionable underlyings: the tickers a trader may follow.

Two sources keep it:

* **The vendor, daily** (``refresh_from_vendor``): every underlying with a call on the next standard
  monthly expiration (third Friday; the session before when that Friday is a holiday), which nearly
  every optionable US underlying lists, from ``/v3/reference/options/contracts`` (all pages). A name
  is removed only once the vendor has not listed it for ``OPTIONABLE_UNDERLYINGS_KEEP_DAYS`` days
  (one missing answer, a name between monthlies, is not enough), and not while our own options check
  found it listed within those days. A failed refresh changes nothing.
* **What the service learns itself** (``refresh_optionable_underlyings``, with every universe
  refresh): tickers whose scans or options checks found listed options are added, those found
  without are dropped.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.validators import validate_ticker
from forwardfactor.runtime import market_provider
from market.calendar import last_session_on_or_before
from market.clock import market_now
from scanner.engine.timing import trading_date
from scanner.models import OptionableUnderlying, Ticker
from scanner.polygon.client import PolygonClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorRefresh:
    expiration: date  # the monthly asked about
    listed: int  # distinct underlyings the vendor listed on it
    added: int
    removed: int  # not listed for OPTIONABLE_UNDERLYINGS_KEEP_DAYS days
    size: int  # the table's size afterwards
    requests: int
    skipped: tuple[str, ...] = ()  # vendor symbols that are not tickers we accept

    def as_dict(self) -> dict:
        return {**asdict(self), "expiration": self.expiration.isoformat(), "skipped": list(self.skipped)}


def next_standard_monthly(today: date) -> date:
    """The first standard monthly expiration after ``today``: a third Friday, or the NYSE session
    before it when that Friday is a holiday (e.g. Juneteenth 2026)."""
    year, month = today.year, today.month
    while True:
        friday = _third_friday(year, month)
        expiration = last_session_on_or_before(friday)
        if expiration > today:
            return expiration
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def refresh_from_vendor(
    client: PolygonClient | None = None,
    expiration: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VendorRefresh:
    """Upsert the vendor's optionable underlyings and drop those it stopped listing long enough ago.
    A market-data error (after the client's own retries) is raised before anything is written."""
    client = (client or market_provider().client).counting()
    expiration = expiration or next_standard_monthly(trading_date(market_now()))
    symbols = client.optionable_underlyings(expiration, progress=progress)
    accepted, skipped = _accepted(symbols)
    if not accepted:
        # A vendor answering nothing at all is broken, not telling us nothing is optionable.
        raise EmptyListingError(f"the vendor lists no underlying with calls expiring {expiration}")
    stamp = timezone.now()
    cutoff = stamp - timedelta(days=settings.OPTIONABLE_UNDERLYINGS_KEEP_DAYS)
    with transaction.atomic():
        known = set(OptionableUnderlying.objects.filter(symbol__in=accepted).values_list("symbol", flat=True))
        OptionableUnderlying.objects.bulk_create(
            [OptionableUnderlying(symbol=symbol, refreshed_at=stamp, vendor_seen_at=stamp) for symbol in accepted],
            update_conflicts=True,
            unique_fields=["symbol"],
            update_fields=["refreshed_at", "vendor_seen_at"],
            batch_size=2000,
        )
        checked_lately = Ticker.objects.filter(has_options=True, options_checked_at__gte=cutoff).values("symbol")
        removed, _ = (
            OptionableUnderlying.objects.filter(vendor_seen_at__lt=cutoff)
            .exclude(Q(symbol__in=checked_lately))
            .delete()
        )
    return VendorRefresh(
        expiration=expiration,
        listed=len(accepted),
        added=len(accepted) - len(known),
        removed=removed,
        size=OptionableUnderlying.objects.count(),
        requests=client.requests_made,
        skipped=tuple(sorted(skipped)),
    )


class EmptyListingError(RuntimeError):
    pass


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


def _accepted(symbols: set[str]) -> tuple[list[str], list[str]]:
    accepted, skipped = [], []
    for symbol in sorted(symbols):
        try:
            validate_ticker(symbol)
        except ValidationError:
            skipped.append(symbol)  # a symbol our ticker rule refuses (e.g. too long): kept out, logged
            continue
        accepted.append(symbol)
    if skipped:
        logger.info(
            "optionable underlyings: %d vendor symbols are not tickers we accept: %s", len(skipped), skipped[:20]
        )
    return accepted, skipped


def _third_friday(year: int, month: int) -> date:
    first = calendar.weekday(year, month, 1)
    return date(year, month, 1 + (4 - first) % 7 + 14)
