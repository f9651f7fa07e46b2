"""The scan service: one ticker's chain -> engine -> Scan + Signals, then the apps that act on signals.

``scan_and_alert`` is what the ``scan_ticker`` task runs, and what the demo calls directly. It is
single-flight per ticker (a Redis lock owned by the caller's id, so a retry or a redelivery of the
same task takes its own lock back while a different request is dropped and counted), gated to NYSE
sessions by the data source's clock for automatic reasons, and idempotent: a redelivered task whose
scan already completed only announces it again (its unsent alerts are re-enqueued).

Apps above the scanner (alerts, and later trades) act on a scan through two hooks, so the scanner
never imports them (DESIGN.md §2): ``signals_stored`` inside the scan's transaction (receivers write
their rows and return how many alerts they created) and ``scan_finished`` after it commits
(receivers enqueue their work and return the ids they enqueued).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal as Hook
from django.utils import timezone

from accounts.validators import normalize_ticker, validate_ticker
from forwardfactor.shared_state import shared_redis
from market.clock import is_session_open, market_now
from scanner.engine import FFSignal
from scanner.engine.config import EngineConfig
from scanner.engine.scan import EarningsInput, scan_chain
from scanner.engine.timing import trading_date
from scanner.models import EarningsEvent, Scan, Signal, Ticker
from scanner.polygon.errors import MarketDataError, UnknownTickerError
from scanner.stream.references import publish_scan_reference
from scanner.universe_view import universe

logger = logging.getLogger(__name__)

AUTOMATIC_REASONS = frozenset({Scan.Reason.MOVE, Scan.Reason.HEARTBEAT, Scan.Reason.DISCOVERY})
DROPPED_KEY = "ff:scan:dropped"

# Sent with scan=Scan, signals=list[Signal]; inside the scan's transaction.
signals_stored = Hook()
# Sent with scan=Scan, dispatch=callable or None; after the scan committed (also for a redelivery).
scan_finished = Hook()

# KEYS[1] lock, ARGV[1] owner: delete only a lock we still own (it may have expired and been re-taken).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass
class ScanReport:
    ticker: str
    reason: str
    outcome: str  # a Scan.Outcome, or "skipped" / "duplicate" when no scan ran
    scan_id: int | None = None
    signals: int = 0
    alerts: int = 0
    enqueued: list[int] = field(default_factory=list)
    requests: int = 0
    error: str = ""

    def as_dict(self) -> dict:
        return {
            "ticker": self.ticker,
            "reason": self.reason,
            "outcome": str(self.outcome),
            "scan_id": self.scan_id,
            "signals": self.signals,
            "alerts": self.alerts,
            "enqueued": len(self.enqueued),
            "requests": self.requests,
            "error": self.error,
        }


def engine_config() -> EngineConfig:
    """The engine's defaults with the deployment's rate and staleness from settings."""
    return EngineConfig(risk_free_rate=settings.RISK_FREE_RATE, stale_quote_minutes=settings.STALE_QUOTE_MINUTES)


def scan_and_alert(
    ticker: str,
    reason: str = Scan.Reason.MANUAL,
    owner: str = "",
    dispatch: Callable[[Sequence[int]], None] | None = None,
) -> ScanReport:
    """Scan ``ticker`` and alert the users it concerns. ``owner`` identifies the request (the task id):
    the same owner again continues its own scan; ``dispatch`` replaces how the alert batches are
    enqueued (default: ``send_messages`` tasks). Retryable market-data errors are raised after being recorded."""
    ticker = normalize_ticker(ticker)
    if reason not in Scan.Reason.values:
        raise ValueError(f"unknown scan reason {reason!r}; use one of {', '.join(Scan.Reason.values)}")
    try:
        validate_ticker(ticker)
    except ValidationError as exc:
        return ScanReport(ticker, reason, Scan.Outcome.FAILED, error=exc.messages[0])
    if reason in AUTOMATIC_REASONS and not is_session_open(market_now()):
        return ScanReport(ticker, reason, "skipped", error="NYSE is closed (by the data source's clock)")
    owner = owner or uuid.uuid4().hex
    with single_flight(ticker, owner) as acquired:
        if not acquired:
            shared_redis().hincrby(DROPPED_KEY, ticker, 1)
            return ScanReport(ticker, reason, "duplicate", error="a scan of this ticker is already running")
        return _scan(ticker, reason, owner, dispatch)


@contextmanager
def single_flight(ticker: str, owner: str) -> Iterator[bool]:
    """Hold the ticker's scan lock for ``owner``; the same owner may take its lock back (retry, redelivery)."""
    client = shared_redis()
    key = f"ff:scan:lock:{ticker}"
    acquired = bool(client.set(key, owner, nx=True, ex=settings.SCAN_LOCK_SECONDS))
    if not acquired and client.get(key) == owner.encode():
        acquired = bool(client.set(key, owner, xx=True, ex=settings.SCAN_LOCK_SECONDS))
    try:
        yield acquired
    finally:
        if acquired:
            client.eval(_RELEASE, 1, key, owner)


def dropped_scans() -> dict[str, int]:
    """Duplicate scan requests dropped while a scan of the same ticker ran, per ticker."""
    return {k.decode(): int(v) for k, v in shared_redis().hgetall(DROPPED_KEY).items()}


def _scan(ticker: str, reason: str, owner: str, dispatch: Callable[[Sequence[int]], None] | None) -> ScanReport:
    scan = _begin(ticker, reason, owner)
    report = ScanReport(ticker, reason, scan.outcome, scan.pk)
    if scan.outcome == Scan.Outcome.OK:
        # A redelivery of a scan that completed: only its alerts may still need sending.
        report.enqueued = _announce_finished(scan, dispatch)
        return report

    from scanner.chain_source import fetch_chain

    config = engine_config()
    today = market_now()
    earnings = _earnings(ticker, today)
    started = time.perf_counter()
    try:
        fetched = fetch_chain(
            ticker, config, reference_price=known_price(ticker), earnings_dates=tuple(e.date for e in earnings)
        )
    except MarketDataError as exc:
        outcome = Scan.Outcome.NO_DATA if isinstance(exc, UnknownTickerError) else Scan.Outcome.FAILED
        _finish_without_data(scan, outcome, exc, started)
        if isinstance(exc, UnknownTickerError):
            # Anyone may follow a name the market does not list; the operator sees it once a scan said so.
            _record_no_options_listed(ticker)
        report.outcome, report.error = outcome, _describe(exc)
        logger.warning("scan of %s (%s, attempt %d): %s", ticker, reason, scan.attempts, report.error)
        if exc.retryable:
            raise
        return report
    fetch_ms = (time.perf_counter() - started) * 1000

    computed = time.perf_counter()
    if trading_date(fetched.chain.as_of) != trading_date(today):
        earnings = _earnings(ticker, fetched.chain.as_of)  # a chain of an earlier day: its own future
    result = scan_chain(fetched.chain, config, earnings=earnings)
    compute_ms = (time.perf_counter() - computed) * 1000

    with transaction.atomic():
        signals = Signal.objects.bulk_create([signal_row(scan, signal) for signal in result.signals])
        created = sum(n for _, n in signals_stored.send(sender=Scan, scan=scan, signals=signals) if n)
        scan.outcome = Scan.Outcome.OK if len(fetched.chain) else Scan.Outcome.NO_DATA
        scan.finished_at = timezone.now()
        scan.fetch_ms, scan.compute_ms = fetch_ms, compute_ms
        scan.requests, scan.contracts = fetched.requests, len(fetched.chain)
        scan.dropped = dict(fetched.chain.dropped)
        scan.underlying_price = _finite(fetched.chain.underlying_price)
        scan.as_of = fetched.chain.as_of
        scan.alerts = created
        scan.notes = "\n".join(result.notes)
        scan.save()
        # One upsert statement (update_or_create takes a savepoint, a locking read and a write).
        seen = Ticker(symbol=ticker, last_scan_at=scan.finished_at, last_scan_price=scan.underlying_price)
        written = ["last_scan_at", "last_scan_price"]
        if len(fetched.chain):  # contracts came back: the market lists options on it
            seen.has_options, seen.options_checked_at = True, scan.finished_at
            written += ["has_options", "options_checked_at"]
        Ticker.objects.bulk_create([seen], update_conflicts=True, unique_fields=["symbol"], update_fields=written)
    report.enqueued = _announce_finished(scan, dispatch)
    if scan.outcome == Scan.Outcome.OK:
        _move_stream_reference(ticker, scan.underlying_price, scan.as_of)
    report.outcome, report.signals, report.alerts, report.requests = (
        scan.outcome,
        len(signals),
        created,
        fetched.requests,
    )
    return report


def signal_row(scan: Scan, signal: FFSignal) -> Signal:
    """The stored form of an engine signal: the columns that queries filter on, and the whole signal as JSON."""
    return Signal(
        scan=scan,
        ticker=scan.ticker,
        structure=signal["structure"],
        pair=signal["pair"],
        front_expiry=date.fromisoformat(signal["front_expiry"]),
        back_expiry=date.fromisoformat(signal["back_expiry"]),
        ff=signal["ff"],
        passes_liquidity=signal["passes_liquidity"],
        as_of=datetime.fromisoformat(signal["as_of"]),
        data=signal,
    )


def _announce_finished(scan: Scan, dispatch: Callable[[Sequence[int]], None] | None) -> list[int]:
    responses = scan_finished.send(sender=Scan, scan=scan, dispatch=dispatch)
    return [pk for _, enqueued in responses for pk in enqueued or ()]


def _begin(ticker: str, reason: str, owner: str) -> Scan:
    """This owner's scan row: created, or taken over from its own earlier attempt."""
    scan = Scan.objects.filter(task_id=owner).first()
    if scan is None:
        return Scan.objects.create(ticker=ticker, reason=reason, task_id=owner, started_at=timezone.now(), attempts=1)
    if scan.outcome != Scan.Outcome.OK:
        scan.outcome, scan.error, scan.attempts = Scan.Outcome.RUNNING, "", scan.attempts + 1
        scan.save(update_fields=["outcome", "error", "attempts"])
    return scan


def known_price(ticker: str) -> float | None:
    """The freshest price we hold without asking the vendor: the last scan's, else the universe bar's VWAP.
    It lets a cold scan probe the listed expiries without a separate request for spot."""
    price = Ticker.objects.filter(symbol=ticker).values_list("last_scan_price", flat=True).first()
    if price:
        return price
    return universe().reference_price(ticker)


def _move_stream_reference(ticker: str, price: float | None, as_of: datetime | None) -> None:
    """The stream measures a ticker's next move from the price at its last scan, whatever the reason."""
    if price is None or price <= 0 or as_of is None:
        return
    try:
        publish_scan_reference(shared_redis(), ticker, price, int(as_of.timestamp() * 1000))
    except redis.RedisError as exc:
        # The scan and its alerts stand; the next trigger is only measured from an older price.
        logger.warning("could not move the stream reference of %s: %s", ticker, exc)


def _record_no_options_listed(ticker: str) -> None:
    # An upsert, like the scan's own Ticker write: the row may not exist yet.
    Ticker.objects.bulk_create(
        [Ticker(symbol=ticker, has_options=False, options_checked_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["symbol"],
        update_fields=["has_options", "options_checked_at"],
    )


def _finish_without_data(scan: Scan, outcome: str, exc: MarketDataError, started: float) -> None:
    scan.outcome = outcome
    scan.error = _describe(exc)
    scan.finished_at = timezone.now()
    scan.fetch_ms = (time.perf_counter() - started) * 1000
    scan.save(update_fields=["outcome", "error", "finished_at", "fetch_ms"])


def _describe(exc: MarketDataError) -> str:
    what = "will retry" if exc.retryable else "not retried"
    return f"{type(exc).__name__} ({what}): {exc}"


def _earnings(ticker: str, as_of: datetime) -> list[EarningsInput]:
    events = EarningsEvent.objects.filter(ticker=ticker, date__gt=trading_date(as_of)).order_by("date")
    return [EarningsInput(event.date, event.expected_move) for event in events]


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None
