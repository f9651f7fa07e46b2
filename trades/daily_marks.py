"""The daily targeted mark: near the close, fetch exactly the open trades' legs and mark every trade,
the paper trades and the users' placed trades alike.

Open trades are grouped by (underlying, expiry) over their legs; each group is one chain snapshot
filtered to that expiry and to the band of strikes its legs use (and to one contract type when they
all share it), so a request serves every trade with a leg there and a band this narrow fits one page.
The requests go through the market provider's client, hence the fleet-wide rate limiter. Trades are
then marked with the scans' computation (``trades.marking.mark_trades``): a leg the fetch did not
quote keeps its last quote and the mark says so. Then the due trades close, on these fresh marks.

A group whose fetch fails marks none of its trades: a transient failure is raised once the others are
marked, so the task's retry fetches only what is still unmarked (a trade marked in full since the
window began is not fetched again).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from forwardfactor.runtime import market_provider
from market.clock import is_session_open, session_bounds, trading_day
from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import AuthError, MarketDataError, NotEntitledError, TransientError
from scanner.polygon.market_types import ContractQuote
from trades import exits
from trades.marking import Contract, mark_placed_trades, mark_trades
from trades.models import PaperTrade, PlacedTrade

logger = logging.getLogger(__name__)

MAX_PARALLEL = 8  # requests in flight (the client's connection pool); the rate limiter meters them


@dataclass(frozen=True)
class Fetch:
    """One filtered snapshot request: an underlying's contracts at one expiry within a strike band."""

    underlying: str
    expiry: date
    strike_gte: float
    strike_lte: float
    contract_type: str | None  # None: both types


@dataclass
class DailyMarkReport:
    trades: int = 0  # open paper trades that needed a mark
    placed: int = 0  # open placed trades that needed a mark
    fetches: int = 0  # (underlying, expiry) groups
    requests: int = 0  # HTTP requests, pages and retries included
    marked: int = 0
    placed_marked: int = 0
    unquoted_legs: int = 0  # legs that kept their last quote
    failed: list[str] = field(default_factory=list)  # "TICKER EXPIRY: reason"
    closed: int = 0

    def as_dict(self) -> dict:
        counts = ("trades", "placed", "fetches", "requests", "marked", "placed_marked", "unquoted_legs", "closed")
        return {k: getattr(self, k) for k in counts} | {"failed": len(self.failed)}


def mark_window_start(now: datetime) -> datetime | None:
    """When today's daily mark may start (some minutes before the default exit), or None when ``now`` is
    outside a session or before that time."""
    if not is_session_open(now):
        return None
    close = session_bounds(trading_day(now))[1]
    minutes = settings.TRADES_EXIT_MINUTES_BEFORE_CLOSE + settings.TRADES_DAILY_MARK_MINUTES_BEFORE_EXIT
    start = close - timedelta(minutes=minutes)
    return start if now >= start else None


def fetches_for(trades: Iterable[PaperTrade | PlacedTrade]) -> dict[tuple[str, date], Fetch]:
    """One fetch per (underlying, expiry) the trades' legs use, banded to their strikes."""
    strikes: dict[tuple[str, date], list[float]] = defaultdict(list)
    types: dict[tuple[str, date], set[str]] = defaultdict(set)
    for trade in trades:
        for leg in trade.legs:
            key = (trade.ticker, date.fromisoformat(leg["expiry"]))
            strikes[key].append(float(leg["strike"]))
            types[key].add(leg["contract_type"])
    return {
        key: Fetch(key[0], key[1], min(band), max(band), next(iter(types[key])) if len(types[key]) == 1 else None)
        for key, band in sorted(strikes.items())
    }


def needing_a_mark(now: datetime, since: datetime | None) -> tuple[list[PaperTrade], list[PlacedTrade]]:
    """Open paper and placed trades opened before ``now``, less those marked in full (by a scan or an
    earlier run) since ``since``."""
    paper = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN, opened_at__lt=now)
    placed = PlacedTrade.objects.filter(status=PlacedTrade.Status.OPEN, quoted_at__lt=now)
    if since is not None:
        marked = Q(last_mark_complete=True) & Q(last_mark_at__gte=since)
        paper, placed = paper.exclude(marked), placed.exclude(marked)
    fields = ("pk", "ticker", "legs")
    return list(paper.only(*fields).order_by("pk")), list(placed.only(*fields, "paper_trade").order_by("pk"))


def fetch_quotes(
    client: PolygonClient, fetches: Iterable[Fetch], max_parallel: int = MAX_PARALLEL
) -> tuple[dict[tuple[str, Contract], ContractQuote], dict[tuple[str, date], MarketDataError]]:
    """Every fetch's quotes keyed by (underlying, contract), and the fetches that failed."""

    def one(fetch: Fetch) -> list[ContractQuote] | MarketDataError:
        try:
            quotes, _ = client.contract_quotes(
                fetch.underlying, fetch.expiry, fetch.strike_gte, fetch.strike_lte, fetch.contract_type
            )
            return quotes
        except (AuthError, NotEntitledError):
            raise  # the key or its plan: no group would fare better
        except MarketDataError as exc:
            return exc

    fetches = list(fetches)
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(fetches)))) as pool:
        answers = list(pool.map(one, fetches))
    quotes, failed = {}, {}
    for fetch, answer in zip(fetches, answers, strict=True):
        if isinstance(answer, MarketDataError):
            failed[(fetch.underlying, fetch.expiry)] = answer
            continue
        for quote in answer:
            contract = (quote.contract_type, quote.expiry.isoformat(), float(quote.strike))
            quotes[(fetch.underlying, contract)] = quote
    return quotes, failed


def mark_from_quotes(
    trades: list[PaperTrade],
    placed: list[PlacedTrade],
    quotes: dict[tuple[str, Contract], ContractQuote],
    now: datetime,
) -> tuple[list, int]:
    """Mark ``trades`` and then ``placed`` (locked, one transaction) from the fetched quotes; the paper
    trades' marks and how many placed trades were marked."""
    stale_before = now - timedelta(minutes=settings.STALE_QUOTE_MINUTES)
    by_ticker: dict[str, dict[Contract, dict]] = defaultdict(dict)
    for (ticker, contract), quote in quotes.items():
        stale = quote.quoted_at is not None and quote.quoted_at < stale_before
        by_ticker[ticker][contract] = {"bid": quote.bid, "ask": quote.ask, "mid": quote.mid, "stale": stale}
    with transaction.atomic():
        open_ones = PaperTrade.objects.filter(pk__in=[trade.pk for trade in trades], status=PaperTrade.Status.OPEN)
        marks = mark_trades(open_ones, by_ticker, now)
        placed_open = PlacedTrade.objects.filter(pk__in=[trade.pk for trade in placed], status=PlacedTrade.Status.OPEN)
        placed_marked = mark_placed_trades(placed_open, by_ticker, now, marks)
    return marks, placed_marked


def mark_open_trades(
    now: datetime, since: datetime | None = None, client: PolygonClient | None = None
) -> DailyMarkReport:
    """Fetch the legs of the open trades needing a mark, mark them at ``now``, then close the due ones."""
    now = now.astimezone(UTC)  # the quotes' time as the scans store it
    report = DailyMarkReport()
    trades, placed = needing_a_mark(now, since)
    report.trades, report.placed = len(trades), len(placed)
    transient: TransientError | None = None
    if trades or placed:
        client = (client or market_provider().client).counting()
        fetches = fetches_for([*trades, *placed])
        report.fetches = len(fetches)
        quotes, failed = fetch_quotes(client, fetches.values())
        report.requests = client.requests_made
        for (ticker, expiry), exc in failed.items():
            report.failed.append(f"{ticker} {expiry.isoformat()}: {exc}")
            logger.warning("daily mark: %s %s not fetched: %s", ticker, expiry.isoformat(), exc)
            if isinstance(exc, TransientError):
                transient = transient or exc

        # A trade with a leg in a failed group is left for the retry (or the next run): a missing answer
        # is not a missing quote.
        def fetched(trade: PaperTrade | PlacedTrade) -> bool:
            return not any((trade.ticker, date.fromisoformat(leg["expiry"])) in failed for leg in trade.legs)

        marks, report.placed_marked = mark_from_quotes(
            [t for t in trades if fetched(t)], [t for t in placed if fetched(t)], quotes, now
        )
        report.marked, report.unquoted_legs = len(marks), sum(len(mark.unquoted) for mark in marks)
    report.closed = exits.close_due_trades(now)
    if transient is not None:
        raise transient
    return report
