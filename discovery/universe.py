"""The discovery universe: the top-N most liquid optionable stocks of the last completed NYSE session.

A refresh ranks the session's grouped daily bars by dollar volume, drops cheap and excluded names,
confirms listed options in rank order until N are found, stores one ``UniverseSnapshot`` per session
and publishes what changed so the stream consumer can adjust its subscriptions. OTC names never
arrive: grouped daily leaves them out unless asked with ``include_otc=true``, which we never do.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.validators import validate_ticker
from discovery.models import UniverseExclusion, UniverseMember, UniverseSnapshot
from forwardfactor.runtime import market_provider
from market.calendar import last_session_on_or_before
from scanner.models import OptionableUnderlying, Ticker
from scanner.underlyings import refresh_optionable_underlyings

logger = logging.getLogger(__name__)
VENDOR_LISTING_TRUSTED = timedelta(days=2)  # the listing is refreshed daily: one missed refresh allowed


class DailyBar(Protocol):
    ticker: str
    close: float
    volume: float

    @property
    def dollar_volume(self) -> float: ...


class GroupedDaily(Protocol):
    session: date  # the session actually served: the last one on or before the date asked for
    bars: Sequence[DailyBar]


class UniverseSource(Protocol):
    """What a refresh needs from market data (scanner.polygon's client provides it)."""

    def grouped_daily(self, day: date) -> GroupedDaily: ...

    def has_listed_options(self, ticker: str) -> bool: ...


class PriceSource(Protocol):
    def counting(self) -> PriceSource: ...

    def last_prices(self, tickers: Iterable[str]) -> dict[str, float]: ...

    @property
    def requests_made(self) -> int: ...


@dataclass(frozen=True)
class Candidate:
    ticker: str
    volume: float
    dollar_volume: float


@dataclass(frozen=True)
class RankedMember:
    rank: int
    ticker: str
    volume: float
    dollar_volume: float

    def as_dict(self) -> dict:
        return {
            "rank": self.rank,
            "ticker": self.ticker,
            "volume": self.volume,
            "dollar_volume": round(self.dollar_volume, 2),
        }


@dataclass(frozen=True)
class UniverseChange:
    added: list[str]
    removed: list[str]


@dataclass
class RefreshOutcome:
    """What a refresh did. ``kept_previous`` means the session had no data and nothing was stored;
    ``change`` is None when nothing was stored (a dry run) or for a back-filled older session."""

    session_date: date | None
    members: list[RankedMember]
    kept_previous: bool = False
    message: str = ""
    checked: int = 0
    without_options: list[str] = field(default_factory=list)
    change: UniverseChange | None = None


ProgressCallback = Callable[[int, int], None]
"""Called after each options check with (candidates checked, members found so far)."""


def rank_candidates(
    bars: Iterable[DailyBar], min_price: float, excluded: set[str], min_dollar_volume: float = 0.0
) -> list[Candidate]:
    """Bars ranked by dollar volume (volume × VWAP, else close), minus cheap, thinly traded (under
    ``min_dollar_volume``), excluded and odd symbols."""
    candidates = []
    for bar in bars:
        if bar.ticker in excluded or not bar.close >= min_price or not _is_listed_symbol(bar.ticker):
            continue
        dollar_volume = bar.dollar_volume
        if not math.isfinite(dollar_volume) or dollar_volume <= 0 or dollar_volume < min_dollar_volume:
            continue
        candidates.append(Candidate(bar.ticker, float(bar.volume), float(dollar_volume)))
    # Ties broken by symbol so a re-run over the same bars gives the same ranks.
    candidates.sort(key=lambda c: (-c.dollar_volume, c.ticker))
    return candidates


def _is_listed_symbol(symbol: str) -> bool:
    # Preferreds, rights and warrants come with vendor suffixes (e.g. BACpB) our ticker rule rejects.
    try:
        validate_ticker(symbol)
    except ValidationError:
        return False
    return True


def select_optionable(
    candidates: Sequence[Candidate],
    size: int,
    has_options: Callable[[str], bool],
    progress: ProgressCallback | None = None,
) -> tuple[list[RankedMember], dict[str, bool]]:
    """The first ``size`` candidates with listed options (every one when ``size`` is 0), in rank order,
    and every check's answer."""
    members: list[RankedMember] = []
    checks: dict[str, bool] = {}
    for candidate in candidates:
        if size and len(members) >= size:
            break
        optionable = has_options(candidate.ticker)
        checks[candidate.ticker] = optionable
        if optionable:
            members.append(RankedMember(len(members) + 1, candidate.ticker, candidate.volume, candidate.dollar_volume))
        if progress is not None:
            progress(len(checks), len(members))
    return members, checks


def default_source() -> UniverseSource:
    return market_provider().client


def refresh_universe(
    day: date | None = None,
    size: int | None = None,
    source: UniverseSource | None = None,
    progress: ProgressCallback | None = None,
    store: bool = True,
) -> RefreshOutcome:
    """Build and store the universe of the last session on or before ``day`` (default: the last completed one).

    With ``store=False`` (a dry run) it only ranks: no snapshot, no options-check results on tickers,
    no change published to the stream consumer.
    """
    from market.clock import last_completed_session, market_now

    size = settings.UNIVERSE_SIZE if size is None else size
    min_price = float(settings.UNIVERSE_MIN_PRICE)
    min_dollar_volume = float(settings.UNIVERSE_MIN_DOLLAR_VOLUME)
    source = source or default_source()
    requested = day or last_completed_session(market_now())
    expected = last_session_on_or_before(requested)
    grouped = source.grouped_daily(requested)
    # The client steps back to an earlier session when the expected one is not published yet.
    if not grouped.bars or (grouped.session < expected and _has_universe_since(grouped.session)):
        return _keep_previous(expected)

    excluded = set(UniverseExclusion.objects.values_list("ticker", flat=True))
    candidates = rank_candidates(grouped.bars, min_price, excluded, min_dollar_volume)
    members, checks = select_optionable(candidates, size, _options_check(source), progress)
    if store:
        _remember_prices(grouped.bars)
        _record_options_checks(checks)
        refresh_optionable_underlyings()  # what traders may follow: daily, with the universe
    without_options = [ticker for ticker, optionable in checks.items() if not optionable]
    parameters = {
        "size": size,
        "min_price": min_price,
        "min_dollar_volume": min_dollar_volume,
        "requested_date": requested.isoformat(),
        "bars": len(grouped.bars),
        "candidates": len(candidates),
        "excluded": sorted(excluded),
        "checked": len(checks),
        "without_options": without_options,
    }
    change = store_snapshot(grouped.session, members, parameters) if store else None
    if store:
        _check_members_earnings([member.ticker for member in members])
    late = f"No market data for {expected.isoformat()} yet. " if grouped.session < expected else ""
    dry_run = "" if store else " Dry run: nothing stored."
    return RefreshOutcome(
        session_date=grouped.session,
        members=members,
        message=f"{late}Universe of {grouped.session.isoformat()}: {len(members)} members "
        f"({len(checks)} checked for options, {len(without_options)} without).{dry_run}",
        checked=len(checks),
        without_options=without_options,
        change=change,
    )


def _options_check(source: UniverseSource) -> Callable[[str], bool]:
    """A name the vendor's daily listing of optionable underlyings named within the last two days
    needs no request of its own; the others are asked one by one (the answer is cached a week)."""
    recent = timezone.now() - VENDOR_LISTING_TRUSTED
    known = set(OptionableUnderlying.objects.filter(vendor_seen_at__gte=recent).values_list("symbol", flat=True))
    return lambda ticker: ticker in known or source.has_listed_options(ticker)


def _has_universe_since(day: date) -> bool:
    return UniverseSnapshot.objects.filter(session_date__gte=day).exists()


def _keep_previous(session_date: date) -> RefreshOutcome:
    previous = UniverseSnapshot.objects.filter(session_date__lte=session_date).first()
    if previous is None:
        return RefreshOutcome(
            session_date=None,
            members=[],
            kept_previous=True,
            message=f"No market data for {session_date.isoformat()} and no earlier universe to keep.",
        )
    logger.warning("no grouped daily data for %s; keeping the universe of %s", session_date, previous.session_date)
    return RefreshOutcome(
        session_date=previous.session_date,
        members=snapshot_members(previous),
        kept_previous=True,
        message=f"No market data for {session_date.isoformat()}: keeping the universe of "
        f"{previous.session_date.isoformat()}.",
    )


def _record_options_checks(checks: dict[str, bool]) -> None:
    if not checks:
        return
    now = timezone.now()
    Ticker.objects.bulk_create(
        [
            Ticker(symbol=ticker, has_options=optionable, options_checked_at=now)
            for ticker, optionable in checks.items()
        ],
        update_conflicts=True,
        unique_fields=["symbol"],
        update_fields=["has_options", "options_checked_at"],
    )


def store_snapshot(session_date: date, members: Sequence[RankedMember], parameters: dict) -> UniverseChange | None:
    """Store (or replace) the session's snapshot; publish the change when it is the current universe.

    Returns the change against the universe that was current before, or None for a back-filled
    older session (the stream consumer watches the newest universe only).
    """
    with transaction.atomic():
        # One refresh at a time: the lock orders concurrent refreshes of the same session.
        latest = UniverseSnapshot.objects.select_for_update().order_by("-session_date").first()
        if latest is not None and latest.session_date > session_date:
            change = None
        else:
            before = set(latest.members.values_list("ticker", flat=True)) if latest else set()
            after = {member.ticker for member in members}
            change = UniverseChange(added=sorted(after - before), removed=sorted(before - after))
        snapshot, _ = UniverseSnapshot.objects.update_or_create(
            session_date=session_date, defaults={"parameters": parameters}
        )
        snapshot.members.all().delete()
        UniverseMember.objects.bulk_create(
            [
                UniverseMember(
                    snapshot=snapshot, rank=m.rank, ticker=m.ticker, volume=m.volume, dollar_volume=m.dollar_volume
                )
                for m in members
            ]
        )
        if change is not None and (change.added or change.removed):
            transaction.on_commit(lambda: publish_change(change))
    return change


def publish_change(change: UniverseChange) -> None:
    """Tell the stream consumer which tickers entered or left the universe (it also reconciles periodically)."""
    from forwardfactor.shared_state import shared_redis
    from scanner.stream.watchset import publish_watchset_change

    publish_watchset_change(shared_redis(), "universe", change.added, change.removed)


def snapshot_members(snapshot: UniverseSnapshot) -> list[RankedMember]:
    return [
        RankedMember(rank, ticker, volume, dollar_volume)
        for rank, ticker, volume, dollar_volume in snapshot.members.order_by("rank").values_list(
            "rank", "ticker", "volume", "dollar_volume"
        )
    ]


def current_universe_tickers(day: date) -> list[str]:
    """Tickers of the universe in force on ``day``, most liquid first (empty before any refresh)."""
    return list(
        UniverseMember.objects.filter(
            snapshot=UniverseSnapshot.objects.filter(session_date__lte=day).order_by("-session_date").values("pk")[:1]
        )
        .order_by("rank")
        .values_list("ticker", flat=True)
    )


def tickers_due_for_discovery(day: date, recent_since: datetime) -> list[str]:
    """Members of the universe in force on ``day`` (rank order) not scanned since ``recent_since``."""
    universe = current_universe_tickers(day)
    fresh = set(
        Ticker.objects.filter(symbol__in=universe, last_scan_at__gte=recent_since).values_list("symbol", flat=True)
    )
    return [ticker for ticker in universe if ticker not in fresh]


def remember_sweep_prices(tickers: Sequence[str], source: PriceSource | None = None) -> int:
    """The members' last prices, asked in a few full-market snapshot requests and kept minutes for
    their scans; the requests used. A failure only costs those scans their probe (they ask themselves)."""
    from scanner.chain_source import remember_fresh_prices
    from scanner.polygon.errors import MarketDataError

    if not tickers:
        return 0
    client = (source or market_provider().client).counting()
    try:
        remember_fresh_prices(client.last_prices(tickers))
    except (MarketDataError, redis.RedisError) as exc:
        logger.warning("sweep prices not stored: %s", exc)
    return client.requests_made


def universe_bar_vwap(ticker: str) -> float | None:
    """The VWAP of the ticker's bar in the latest universe it belongs to (a cold scan's reference price)."""
    bar = (
        UniverseMember.objects.filter(ticker=ticker)
        .order_by("-snapshot__session_date")
        .values_list("dollar_volume", "volume")
        .first()
    )
    return bar[0] / bar[1] if bar and bar[1] else None


class StoredUniverse:
    """The stored universe as the scanner sees it (registered in scanner.universe_view at start-up)."""

    def tickers(self, day: date) -> list[str]:
        return current_universe_tickers(day)

    def reference_price(self, ticker: str) -> float | None:
        return universe_bar_vwap(ticker)


def _remember_prices(bars: Sequence[DailyBar]) -> None:
    """Every stock's last close as its cold scans' reference price (none of them then asks for spot)."""
    from scanner.chain_source import remember_reference_prices

    try:
        remember_reference_prices({bar.ticker: bar.close for bar in bars})
    except redis.RedisError as exc:
        logger.warning("reference prices not stored: %s", exc)


def _check_members_earnings(tickers: list[str]) -> None:
    """The members' earnings dates in batches of 50 (a few requests), so that their first scans need not
    ask one ticker at a time. A failure leaves it to those scans; the refresh itself stands."""
    from scanner.earnings import refresh_earnings
    from scanner.polygon.errors import MarketDataError

    try:
        refresh_earnings(tickers)
    except MarketDataError as exc:
        logger.warning("earnings of the universe not checked: %s", exc)
