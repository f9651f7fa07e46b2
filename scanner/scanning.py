"""The scan service: one ticker's chain -> engine -> Scan + Signals -> routed alerts -> send batches.

``scan_and_alert`` is what the ``scan_ticker`` task runs, and what the demo calls directly. It is
single-flight per ticker (a Redis lock owned by the caller's id, so a retry or a redelivery of the
same task takes its own lock back while a different request is dropped and counted), gated to NYSE
sessions by the data source's clock for automatic reasons, and idempotent: a redelivered task whose
scan already completed only re-enqueues that scan's unsent alerts.
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
from django.utils import timezone

from accounts.validators import normalize_ticker, validate_ticker
from forwardfactor.shared_state import shared_redis
from scanner import alerting, routing
from scanner.engine.config import EngineConfig
from scanner.engine.scan import EarningsInput, scan_chain
from scanner.engine.timing import trading_date
from scanner.market_clock import is_session_open, market_now, trading_day
from scanner.models import Alert, EarningsEvent, Scan, Signal, Ticker, UniverseMember
from scanner.polygon.errors import MarketDataError, UnknownTickerError
from scanner.stream.references import publish_scan_reference

logger = logging.getLogger(__name__)

AUTOMATIC_REASONS = frozenset({Scan.Reason.MOVE, Scan.Reason.HEARTBEAT, Scan.Reason.DISCOVERY})
DROPPED_KEY = "ff:scan:dropped"

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
            "ticker": self.ticker, "reason": self.reason, "outcome": str(self.outcome), "scan_id": self.scan_id,
            "signals": self.signals, "alerts": self.alerts, "enqueued": len(self.enqueued),
            "requests": self.requests, "error": self.error,
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
    the same owner again continues its own scan; ``dispatch`` enqueues alert batches (default:
    ``send_alerts`` tasks). Retryable market-data errors are raised after being recorded."""
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
    dispatch = dispatch or dispatch_alerts
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


def _scan(ticker: str, reason: str, owner: str, dispatch: Callable[[Sequence[int]], None]) -> ScanReport:
    scan = _begin(ticker, reason, owner)
    report = ScanReport(ticker, reason, scan.outcome, scan.pk)
    if scan.outcome == Scan.Outcome.OK:
        # A redelivery of a scan that completed: only its alerts may still need sending.
        report.enqueued = alerting.pending_alert_ids(scan.signals.values_list("pk", flat=True))
        dispatch(report.enqueued)
        return report

    from scanner.chain_source import fetch_chain

    config = engine_config()
    today = market_now()
    earnings = _earnings(ticker, today)
    started = time.perf_counter()
    try:
        fetched = fetch_chain(ticker, config, reference_price=known_price(ticker),
                              earnings_dates=tuple(e.date for e in earnings))
    except MarketDataError as exc:
        outcome = Scan.Outcome.NO_DATA if isinstance(exc, UnknownTickerError) else Scan.Outcome.FAILED
        _finish_without_data(scan, outcome, exc, started)
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
        signals = Signal.objects.bulk_create(
            [
                Signal(
                    scan=scan,
                    ticker=ticker,
                    structure=data["structure"],
                    pair=data["pair"],
                    front_expiry=date.fromisoformat(data["front_expiry"]),
                    back_expiry=date.fromisoformat(data["back_expiry"]),
                    ff=data.get("ff"),
                    passes_liquidity=bool(data.get("passes_liquidity")),
                    as_of=datetime.fromisoformat(data["as_of"]),
                    data=data,
                )
                for data in result.signals
            ]
        )
        new_alerts = alert_signals(ticker, signals, scan.pk)
        scan.outcome = Scan.Outcome.OK if len(fetched.chain) else Scan.Outcome.NO_DATA
        scan.finished_at = timezone.now()
        scan.fetch_ms, scan.compute_ms = fetch_ms, compute_ms
        scan.requests, scan.contracts = fetched.requests, len(fetched.chain)
        scan.dropped = dict(fetched.chain.dropped)
        scan.underlying_price = _finite(fetched.chain.underlying_price)
        scan.as_of = fetched.chain.as_of
        scan.alerts = len(new_alerts)
        scan.notes = "\n".join(result.notes)
        scan.save()
        # One upsert statement (update_or_create takes a savepoint, a locking read and a write).
        Ticker.objects.bulk_create(
            [Ticker(symbol=ticker, last_scan_at=scan.finished_at, last_scan_price=scan.underlying_price)],
            update_conflicts=True, unique_fields=["symbol"], update_fields=["last_scan_at", "last_scan_price"],
        )
    report.enqueued = [pk for pk, status in new_alerts if status == Alert.Status.PENDING]
    dispatch(report.enqueued)
    if scan.outcome == Scan.Outcome.OK:
        _move_stream_reference(ticker, scan.underlying_price, scan.as_of)
    report.outcome, report.signals, report.alerts, report.requests = scan.outcome, len(signals), len(new_alerts), fetched.requests
    return report


def alert_signals(
    ticker: str, signals: Sequence[Signal], scan_id: int | None, now: datetime | None = None
) -> list[tuple[int, str]]:
    """Route a scan's saved signals to their users and store the alerts; (id, status) of the new ones.

    A fixed number of queries whatever the number of users. ``now`` is wall-clock time (cooldowns,
    quiet hours); the trading day comes from the signals' own timestamp. The routed users stay locked
    from counting their alerts of the day until the new ones are committed, so scans of different
    tickers alerting the same user at once cannot together exceed a daily cap.
    """
    if not signals:
        return []
    now = now or timezone.now()
    day = trading_day(signals[0].as_of)
    recipients = routing.candidate_recipients(ticker, day)
    routed = routing.route_signals([s.data for s in signals], recipients)
    if not routed:
        return []
    routed_recipients = [r for rs in routed.values() for r in rs]
    with transaction.atomic(savepoint=False):
        alerting.lock_recipients({r.user_id for r in routed_recipients})
        history = alerting.load_history(ticker, day, routed_recipients, now, scan_id)
        return alerting.save_alerts(alerting.plan_alerts(signals, routed, history, now))


def dispatch_alerts(alert_ids: Sequence[int]) -> None:
    """One ``send_alerts`` task per ALERT_BATCH_SIZE alerts (no chords: a lost batch loses nothing else)."""
    from scanner.tasks import enqueue_alert_batches

    enqueue_alert_batches(alert_ids)


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
    bar = (UniverseMember.objects.filter(ticker=ticker).order_by("-snapshot__session_date")
           .values_list("dollar_volume", "volume").first())
    return bar[0] / bar[1] if bar and bar[1] else None


def _move_stream_reference(ticker: str, price: float | None, as_of: datetime | None) -> None:
    """The stream measures a ticker's next move from the price at its last scan, whatever the reason."""
    if price is None or price <= 0 or as_of is None:
        return
    try:
        publish_scan_reference(shared_redis(), ticker, price, int(as_of.timestamp() * 1000))
    except redis.RedisError as exc:
        # The scan and its alerts stand; the next trigger is only measured from an older price.
        logger.warning("could not move the stream reference of %s: %s", ticker, exc)


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
