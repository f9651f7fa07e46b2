"""The scan service: one ticker's chain -> engine -> Scan + Signals, then the apps that act on signals.

``scan_and_alert`` is what the ``scan_ticker`` task runs, and what the demo calls directly. It is
single-flight per ticker, gated to NYSE sessions by the data source's clock for automatic reasons, and
idempotent: a redelivered task whose scan already completed only announces it again (its unsent
alerts are re-enqueued).

Single flight: a Redis lock on the ticker holds the owning request's id (the task id, also on its
Scan row) as a lease of SCAN_LOCK_SECONDS, renewed while the scan runs, so a dead owner's lock is gone
within seconds. A retry or redelivery of the same task takes its own lock back. Another request finds
the lock held and either takes it over, when its owner is dead (the owner's Scan row finished, or
silent for SCAN_STALE_SECONDS, longer than a scan may take), or is *deferred* to the live scan: its
result says ``deferred`` and names that scan, and it is counted in ``DROPPED_KEY``. Nothing is lost by
deferring: the live scan fetches the chain now and produces the signals; if it dies instead, the
abandoned-scan sweeper (``scanner.abandoned``) scans the ticker again.

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
from datetime import date, datetime, timedelta

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal as Hook
from django.utils import timezone

from accounts.validators import normalize_ticker, validate_ticker
from forwardfactor.heartbeat import Heartbeat
from forwardfactor.shared_state import shared_redis
from forwardfactor.task_retry import TRANSIENT_INFRA_ERRORS
from market.clock import is_session_open, market_now
from scanner.earnings import check_first_seen, engine_earnings
from scanner.engine import FFSignal
from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.scan import ChainScan, scan_chain
from scanner.engine.timing import trading_date
from scanner.latest import record_latest
from scanner.models import Scan, Signal, Ticker
from scanner.polygon.errors import MarketDataError, UnknownTickerError
from scanner.stream.references import publish_scan_reference
from scanner.stream.rule import atm_volatility
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
# KEYS[1] lock, ARGV[1] owner, ARGV[2] lease ms: extend the lease only while we still own it.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
# KEYS[1] lock, ARGV[1] dead owner, ARGV[2] new owner, ARGV[3] lease ms: take over only from that owner.
_TAKE_OVER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1 end return 0"
)


@dataclass
class ScanReport:
    ticker: str
    reason: str
    outcome: str  # a Scan.Outcome, or "skipped" / "deferred" when no scan ran
    scan_id: int | None = None  # this request's scan; for "deferred", the live scan it deferred to
    deferred_to: str = ""  # the task id of that live scan
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
            "deferred_to": self.deferred_to,
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
    with single_flight(ticker, owner) as flight:
        if not flight:
            shared_redis().hincrby(DROPPED_KEY, ticker, 1)
            live = Scan.objects.filter(task_id=flight.holder).values_list("pk", flat=True).first()
            return ScanReport(
                ticker,
                reason,
                "deferred",
                scan_id=live,
                deferred_to=flight.holder,
                error=f"deferred to the scan of {ticker} already running (task {flight.holder})",
            )
        return _scan(ticker, reason, owner, dispatch)


@dataclass(frozen=True)
class Flight:
    """The outcome of asking for a ticker's scan lock: true when ``owner`` holds it."""

    acquired: bool
    holder: str  # who holds the lock now (the owner when acquired)
    took_over_from: str = ""  # the dead owner whose lock was taken over, if any

    def __bool__(self) -> bool:
        return self.acquired


def lock_key(ticker: str) -> str:
    return f"ff:scan:lock:{ticker}"


def lock_holder(ticker: str) -> str:
    """The request holding the ticker's scan lock, or "" when nobody does."""
    holder = shared_redis().get(lock_key(ticker))
    return holder.decode() if holder else ""


@contextmanager
def single_flight(ticker: str, owner: str) -> Iterator[Flight]:
    """Hold the ticker's scan lock for ``owner`` while the block runs, renewing its lease; the same
    owner may take its lock back (retry, redelivery), and a dead owner's lock is taken over."""
    client = shared_redis()
    key = lock_key(ticker)
    lease_ms = settings.SCAN_LOCK_SECONDS * 1000
    flight = Flight(bool(client.set(key, owner, nx=True, px=lease_ms)), owner)
    if not flight:
        held = client.get(key)
        holder = held.decode() if held else ""
        if holder == owner:
            flight = Flight(bool(client.set(key, owner, xx=True, px=lease_ms)), owner)
        elif holder and owner_is_dead(holder) and client.eval(_TAKE_OVER, 1, key, holder, owner, lease_ms):
            logger.warning("scan lock of %s taken over from %s, whose scan is dead", ticker, holder)
            flight = Flight(True, owner, took_over_from=holder)
        else:
            flight = Flight(False, holder)
    # Every third of the lease: a killed worker stops renewing and its lock is free within one lease,
    # however long a live scan takes.
    renewal = (
        Heartbeat(lambda: bool(client.eval(_RENEW, 1, key, owner, lease_ms)), lease_ms / 3000, f"lease {key}")
        if flight
        else None
    )
    try:
        yield flight
    finally:
        if renewal is not None:
            renewal.stop()
            try:
                client.eval(_RELEASE, 1, key, owner)
            except redis.RedisError as exc:
                # The lease expires by itself; the error that ended the scan, if any, is the one to report.
                logger.warning("could not release the scan lock of %s: %s", ticker, exc)


def owner_is_dead(task_id: str) -> bool:
    """Whether the request ``task_id`` holding a scan lock is gone: its Scan row finished (the lock
    outlived it) or silent longer than a scan may take. A holder without a row yet is alive: it has
    only just taken the lock, and its lease ends by itself if it dies before writing one."""
    row = Scan.objects.filter(task_id=task_id).values_list("outcome", "heartbeat_at").first()
    if row is None:
        return False
    outcome, heartbeat_at = row
    silent_since = timezone.now() - timedelta(seconds=settings.SCAN_STALE_SECONDS)
    return outcome != Scan.Outcome.RUNNING or heartbeat_at < silent_since


def dropped_scans() -> dict[str, int]:
    """Scan requests deferred to a live scan of the same ticker, per ticker."""
    return {k.decode(): int(v) for k, v in shared_redis().hgetall(DROPPED_KEY).items()}


def _scan(ticker: str, reason: str, owner: str, dispatch: Callable[[Sequence[int]], None] | None) -> ScanReport:
    scan = _begin(ticker, reason, owner)
    try:
        return _run(scan, ticker, reason, dispatch)
    except TRANSIENT_INFRA_ERRORS as exc:
        _note_interrupted(scan, exc)
        raise


def _note_interrupted(scan: Scan, exc: BaseException) -> None:
    """Redis or the database failed under a scan: the task retries it, so the row must not say running
    (the sweeper would scan it a second time). With the database itself down the row cannot be written:
    it stays running, and if the retry does not come first the sweeper re-queues it."""
    scan.outcome = Scan.Outcome.FAILED
    scan.error = f"{type(exc).__name__} (will retry): {exc}"[:2000]
    scan.finished_at = timezone.now()
    try:
        scan.save(update_fields=["outcome", "error", "finished_at"])
    except TRANSIENT_INFRA_ERRORS as unwritten:
        logger.warning("scan %s interrupted by %s; not recorded: %s", scan.pk, type(exc).__name__, unwritten)


def _touch(scan: Scan) -> None:
    """A sign of life between the stages of a scan (the sweeper and lock takeover read it)."""
    scan.heartbeat_at = timezone.now()
    Scan.objects.filter(pk=scan.pk).update(heartbeat_at=scan.heartbeat_at)


def _run(scan: Scan, ticker: str, reason: str, dispatch: Callable[[Sequence[int]], None] | None) -> ScanReport:
    report = ScanReport(ticker, reason, scan.outcome, scan.pk)
    if scan.outcome == Scan.Outcome.OK:
        # A redelivery of a scan that completed: only its alerts may still need sending.
        report.enqueued = _announce_finished(scan, dispatch)
        return report

    from scanner.chain_source import SCAN_REQUEST_BUDGET, fetch_chain

    config = engine_config()
    today = market_now()
    earnings_requests = check_first_seen(ticker)
    earnings = engine_earnings(ticker, today)
    started = time.perf_counter()
    try:
        fetched = fetch_chain(
            ticker,
            config,
            reference_price=known_price(ticker),
            earnings_dates=tuple(e.date for e in earnings),
            budget=SCAN_REQUEST_BUDGET - earnings_requests,
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
    _touch(scan)

    computed = time.perf_counter()
    if trading_date(fetched.chain.as_of) != trading_date(today):
        earnings = engine_earnings(ticker, fetched.chain.as_of)  # a chain of an earlier day: its own future
    result = scan_chain(fetched.chain, config, earnings=earnings, listed=fetched.listed, probe_iv=fetched.listed_iv)
    compute_ms = (time.perf_counter() - computed) * 1000

    with transaction.atomic():
        signals = Signal.objects.bulk_create([signal_row(scan, signal) for signal in result.signals])
        record_latest(signals)  # the board's rows move with the scan, in its transaction
        created = sum(n for _, n in signals_stored.send(sender=Scan, scan=scan, signals=signals) if n)
        scan.outcome = _outcome(result, fetched.chain)
        scan.finished_at = scan.heartbeat_at = timezone.now()
        scan.fetch_ms, scan.compute_ms = fetch_ms, compute_ms
        scan.requests, scan.contracts = fetched.requests + earnings_requests, len(fetched.chain)
        scan.dropped = dict(fetched.chain.dropped)
        scan.underlying_price = _finite(fetched.chain.underlying_price)
        scan.as_of = fetched.chain.as_of
        scan.alerts = created
        scan.notes = "\n".join(result.notes)
        scan.term_structure = result.term_structure
        scan.save()
        # One upsert statement (update_or_create takes a savepoint, a locking read and a write).
        seen = Ticker(
            symbol=ticker, last_scan_at=scan.finished_at, last_scan_price=scan.underlying_price, last_scan=scan
        )
        written = ["last_scan_at", "last_scan_price", "last_scan"]
        if len(fetched.chain) or fetched.listed:  # the market lists options on it
            seen.has_options, seen.options_checked_at = True, scan.finished_at
            written += ["has_options", "options_checked_at"]
        Ticker.objects.bulk_create([seen], update_conflicts=True, unique_fields=["symbol"], update_fields=written)
    report.enqueued = _announce_finished(scan, dispatch)
    if scan.outcome in (Scan.Outcome.OK, Scan.Outcome.NO_PAIR):
        _move_stream_reference(scan)
    report.outcome, report.signals, report.alerts, report.requests = (
        scan.outcome,
        len(signals),
        created,
        scan.requests,
    )
    return report


def _outcome(result: ChainScan, chain: OptionChain) -> str:
    """ok with quotes to evaluate; no_pair when the listed expiries fit no pair (a completed scan
    with nothing to evaluate); no_data when the vendor sent no usable quotes."""
    if result.no_pair:
        return Scan.Outcome.NO_PAIR
    return Scan.Outcome.OK if len(chain) else Scan.Outcome.NO_DATA


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
    now = timezone.now()
    if scan is None:
        return Scan.objects.create(
            ticker=ticker, reason=reason, task_id=owner, started_at=now, heartbeat_at=now, attempts=1
        )
    if scan.outcome != Scan.Outcome.OK:
        scan.outcome, scan.error, scan.attempts, scan.heartbeat_at = Scan.Outcome.RUNNING, "", scan.attempts + 1, now
        scan.finished_at = None
        scan.save(update_fields=["outcome", "error", "attempts", "heartbeat_at", "finished_at"])
    return scan


def known_price(ticker: str) -> float | None:
    """The freshest price we hold without asking the vendor: the last scan's, else the universe bar's VWAP.
    It lets a cold scan probe the listed expiries without a separate request for spot."""
    price = Ticker.objects.filter(symbol=ticker).values_list("last_scan_price", flat=True).first()
    if price:
        return price
    return universe().reference_price(ticker)


def _move_stream_reference(scan: Scan) -> None:
    """The stream measures a ticker's next move from the price at its last scan, whatever the reason,
    and scales the move that triggers by the scan's volatility and request count."""
    price, as_of, ticker = scan.underlying_price, scan.as_of, scan.ticker
    if price is None or price <= 0 or as_of is None:
        return
    vol = atm_volatility(scan.term_structure)
    try:
        publish_scan_reference(shared_redis(), ticker, price, int(as_of.timestamp() * 1000), vol, scan.requests)
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
    scan.finished_at = scan.heartbeat_at = timezone.now()
    scan.fetch_ms = (time.perf_counter() - started) * 1000
    scan.save(update_fields=["outcome", "error", "finished_at", "heartbeat_at", "fetch_ms"])


def _describe(exc: MarketDataError) -> str:
    what = "will retry" if exc.retryable else "not retried"
    return f"{type(exc).__name__} ({what}): {exc}"


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None
