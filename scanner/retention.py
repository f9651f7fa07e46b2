"""Bounded storage: Scan and Signal rows are kept whole for SIGNAL_RETENTION_DAYS, then rolled up and deleted.

Every scan stores a Signal per pair and structure, so at 2,000 names the tables grow by hundreds of
thousands of rows a day. Past the retention window (judged on ``Scan.started_at``, the wall clock the
rows were written by) a day of a ticker's signals becomes one SignalDay per pair and structure and a
day of its scans one ScanDay, and the rows go.

Work goes in scan-id order, one batch of scans (and their signals) per transaction: lock the single
RetentionProgress row, take the next scans after its ``through_scan_id`` while they are old enough, add
them into the rollups, delete those nothing points at, move the mark forward, commit. So:

* exact: each scan is added once, whatever the runs, because adding it and moving the mark past it
  commit together; a rollup row merges batches (counts add, minimum and maximum, the latest wins);
* resumable and safe to run twice or side by side: a run that stops keeps its committed batches, a
  second run finds nothing behind the mark, and concurrent runs take turns at the row lock;
* short: a batch holds its locks for one transaction of RETENTION_BATCH_SCANS scans.

Rows something else points at are rolled up but never deleted, whatever app the reference lives in:
the board's LatestSignal and a ticker's last scan, an alert and its message (a user's history), a
paper or placed trade's opening signal. A reference an app declares disposable with ``release_on_prune``
(a trade's mark naming the scan that quoted it) is set to NULL instead. A reference added later is kept
by default: pruning never silently empties a foreign key.

Readers of old days read the rollups (the ticker page's FF history: web/ticker_page.py); the board and
the track record read rows pruning keeps.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import ForeignKey
from django.db.models.fields.json import KT
from django.utils import timezone

from scanner.models import RetentionProgress, Scan, ScanDay, Signal, SignalDay

NEW_YORK = ZoneInfo("America/New_York")
PROGRESS_ID = 1
# Rows an upsert statement: 21 columns each stay well under PostgreSQL's 65,535 parameters.
UPSERT_ROWS = 1000

_released: set[ForeignKey] = set()


def release_on_prune(model: type[models.Model], field_name: str) -> None:
    """Pruning may set this nullable foreign key to a Scan or Signal to NULL instead of keeping its target.

    Called by the app that owns the model (its AppConfig.ready), which knows its rows keep what they need."""
    fk = model._meta.get_field(field_name)
    if not isinstance(fk, ForeignKey) or fk.related_model not in (Scan, Signal) or not fk.null:
        raise ValueError(f"{model._meta.label}.{field_name} is not a nullable foreign key to a scan or a signal")
    _released.add(fk)


def references(target: type[models.Model]) -> list[ForeignKey]:
    """Every foreign key to ``target`` from another table (hidden ones included), less the signal's own scan."""
    return [
        rel.field
        for rel in target._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
        if rel.field is not Signal._meta.get_field("scan")
    ]


def kept_references(target: type[models.Model]) -> list[ForeignKey]:
    return [fk for fk in references(target) if fk not in _released]


def released_references() -> list[ForeignKey]:
    return sorted(_released, key=lambda fk: (fk.model._meta.label, fk.name))


def new_york_day(moment: datetime) -> date:
    return moment.astimezone(NEW_YORK).date()


SCAN_COLUMNS = (
    "pk",
    "ticker",
    "reason",
    "outcome",
    "started_at",
    "as_of",
    "requests",
    "contracts",
    "alerts",
    "underlying_price",
)
# The signal's own columns and the figures of its JSON a rollup keeps (JSON keys read in the database).
SIGNAL_COLUMNS = ("pk", "scan_id", "ticker", "pair", "structure", "as_of", "ff", "passes_liquidity")
SIGNAL_COLUMNS += ("front_expiry", "back_expiry")
# Read as text (->>), not as JSON values each decoded on its own: the engine writes them as numbers or null.
SIGNAL_DATA = ("strike", "front_iv", "back_iv", "forward_iv", "ff_ex_earnings", "spread_cost_pct", "underlying_price")


@dataclass
class Batch:
    """What one batch reads: old scans in id order, their signals, and which of the scans must stay."""

    scans: list[dict]
    signals: list[dict]
    kept_scan_ids: set[int]

    @property
    def last_id(self) -> int:
        return self.scans[-1]["pk"]

    @property
    def deleted_scan_ids(self) -> list[int]:
        return [row["pk"] for row in self.scans if row["pk"] not in self.kept_scan_ids]

    @property
    def deleted_signals(self) -> int:
        return sum(1 for row in self.signals if row["scan_id"] not in self.kept_scan_ids)


@dataclass
class PruneReport:
    cutoff: datetime | None
    dry_run: bool = False
    batches: int = 0
    scans: int = 0  # rolled up
    signals: int = 0
    scans_deleted: int = 0
    signals_deleted: int = 0
    scans_kept: int = 0  # rolled up, kept because something points at them
    scan_days: int = 0  # rollup rows created
    signal_days: int = 0
    through_scan_id: int = 0
    finished: bool = True  # nothing old enough is left behind the mark (False: the time budget ran out)
    seconds: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "dry_run": self.dry_run,
            "batches": self.batches,
            "scans": self.scans,
            "signals": self.signals,
            "scans_deleted": self.scans_deleted,
            "signals_deleted": self.signals_deleted,
            "scans_kept": self.scans_kept,
            "scan_days": self.scan_days,
            "signal_days": self.signal_days,
            "through_scan_id": self.through_scan_id,
            "finished": self.finished,
            "seconds": round(self.seconds, 3),
        }

    def add(self, batch: Batch, created: tuple[int, int]) -> None:
        self.batches += 1
        self.scans += len(batch.scans)
        self.signals += len(batch.signals)
        self.scans_deleted += len(batch.deleted_scan_ids)
        self.signals_deleted += batch.deleted_signals
        self.scans_kept += len(batch.kept_scan_ids)
        self.scan_days += created[0]
        self.signal_days += created[1]
        self.through_scan_id = batch.last_id
        self.batch_sizes.append(len(batch.scans))


def prune_history(
    now: datetime,
    retention_days: int | None = None,
    batch_size: int | None = None,
    max_seconds: float | None = None,
    dry_run: bool = False,
    progress: Callable[[PruneReport], None] | None = None,
) -> PruneReport:
    """Roll up and delete the scans started before ``now`` - ``retention_days``, batch by batch, until none is
    left or ``max_seconds`` have passed (None: no limit). ``dry_run`` reads and counts, writes nothing.
    ``progress`` is called with the running report after each batch."""
    days = settings.SIGNAL_RETENTION_DAYS if retention_days is None else retention_days
    size = batch_size or settings.RETENTION_BATCH_SCANS
    if size < 1:
        raise ValueError("the batch size is at least one scan")
    if days <= 0:
        return PruneReport(cutoff=None, dry_run=dry_run)
    cutoff = now - timedelta(days=days)
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    started = time.monotonic()
    after = _progress_mark()
    seen: tuple[set, set] = (set(), set())  # a dry run's rollup keys so far (it stores none)
    while True:
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            report.finished = False
            break
        if dry_run:
            batch = read_batch(after, cutoff, size)
            created = (0, 0) if batch is None else _new_rollup_rows(batch, seen)
        else:
            batch, created = _prune_one_batch(cutoff, size)
        if batch is None:
            break
        after = batch.last_id
        report.add(batch, created)
        report.seconds = time.monotonic() - started
        if progress is not None:
            progress(report)
    report.through_scan_id = after
    report.seconds = time.monotonic() - started
    return report


def _progress_mark() -> int:
    return RetentionProgress.objects.filter(pk=PROGRESS_ID).values_list("through_scan_id", flat=True).first() or 0


def _prune_one_batch(cutoff: datetime, size: int) -> tuple[Batch | None, tuple[int, int]]:
    with transaction.atomic():
        mark, _ = RetentionProgress.objects.select_for_update().get_or_create(pk=PROGRESS_ID)
        batch = read_batch(mark.through_scan_id, cutoff, size)
        if batch is None:
            return None, (0, 0)
        created = roll_up(batch)
        delete(batch)
        mark.through_scan_id = batch.last_id
        mark.updated_at = timezone.now()
        mark.save(update_fields=["through_scan_id", "updated_at"])
        return batch, created


def read_batch(after_id: int, cutoff: datetime, size: int) -> Batch | None:
    """The next ``size`` scans after ``after_id`` in id order, up to the first one started at or after ``cutoff``."""
    candidates = Scan.objects.filter(pk__gt=after_id).order_by("pk").values(*SCAN_COLUMNS)[:size]
    scans = list(takewhile(lambda row: row["started_at"] < cutoff, candidates))
    if not scans:
        return None
    ids = [row["pk"] for row in scans]
    data = {f"data_{key}": KT(f"data__{key}") for key in SIGNAL_DATA}
    signals = list(Signal.objects.filter(scan_id__in=ids).order_by("pk").values(*SIGNAL_COLUMNS, **data))
    kept: set[int] = set()
    for fk in kept_references(Scan) + kept_references(Signal):
        kept.update(_scans_pointed_at(fk, ids))
    return Batch(scans, signals, kept)


def _scans_pointed_at(fk: ForeignKey, scan_ids: list[int]) -> set[int]:
    """Which of these scans ``fk`` points at, or at one of their signals (one query a chunk, by scan id)."""
    scan = fk.name if fk.related_model is Scan else f"{fk.name}__scan"
    found: set[int] = set()
    for chunk in _chunks(scan_ids):
        rows = fk.model._base_manager.filter(**{f"{scan}__in": chunk}).values_list(scan, flat=True)
        found.update(rows.distinct().order_by())
    return found


# --- Rolling up --------------------------------------------------------------------------------


SCAN_DAY_KEY = ("ticker", "day")
SIGNAL_DAY_KEY = ("ticker", "pair", "structure", "day")


def scan_day_key(row: dict) -> tuple[str, date]:
    return row["ticker"], new_york_day(row["as_of"] or row["started_at"])


def roll_up(batch: Batch) -> tuple[int, int]:
    """Add the batch into its ScanDay and SignalDay rows; the numbers of rows created (scan days, signal days)."""
    return (
        _merge(ScanDay, SCAN_DAY_KEY, _scan_days(batch.scans)),
        _merge(SignalDay, SIGNAL_DAY_KEY, _signal_days(batch.signals)),
    )


def _new_rollup_rows(batch: Batch, seen: tuple[set, set]) -> tuple[int, int]:
    """For a dry run: how many rollup rows the batch would create (``seen``: keys of its earlier batches)."""
    created = []
    for rows, model, key, earlier in (
        (_scan_days(batch.scans), ScanDay, SCAN_DAY_KEY, seen[0]),
        (_signal_days(batch.signals), SignalDay, SIGNAL_DAY_KEY, seen[1]),
    ):
        new = set(rows) - set(_existing(model, key, rows)) - earlier
        earlier.update(new)
        created.append(len(new))
    return created[0], created[1]


def _scan_days(scans: Iterable[dict]) -> dict[tuple, ScanDay]:
    days: dict[tuple, ScanDay] = {}
    for row in scans:
        key = scan_day_key(row)
        priced = row["underlying_price"] is not None
        at = row["as_of"] or row["started_at"]
        one = ScanDay(
            ticker=key[0],
            day=key[1],
            scans=1,
            outcomes={row["outcome"]: 1},
            reasons={row["reason"]: 1},
            requests=row["requests"],
            contracts=row["contracts"],
            alerts=row["alerts"],
            first_started_at=row["started_at"],
            last_started_at=row["started_at"],
            last_price=row["underlying_price"] if priced else None,
            last_price_at=at if priced else None,
        )
        days[key] = one if key not in days else merged_scan_day(days[key], one)
    return days


def merged_scan_day(held: ScanDay, more: ScanDay) -> ScanDay:
    """``held`` with ``more`` added to it (the same ticker and day)."""
    held.scans += more.scans
    held.outcomes = dict(Counter(held.outcomes) + Counter(more.outcomes))
    held.reasons = dict(Counter(held.reasons) + Counter(more.reasons))
    held.requests += more.requests
    held.contracts += more.contracts
    held.alerts += more.alerts
    held.first_started_at = min(held.first_started_at, more.first_started_at)
    held.last_started_at = max(held.last_started_at, more.last_started_at)
    if more.last_price_at is not None and (held.last_price_at is None or more.last_price_at >= held.last_price_at):
        held.last_price, held.last_price_at = more.last_price, more.last_price_at
    return held


def _signal_days(signals: Iterable[dict]) -> dict[tuple, SignalDay]:
    """One SignalDay per key of ``signals`` (in id order: of two signals with the same time, the later
    stored is the day's last)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    days: dict[datetime, date] = {}  # a scan's signals share their time
    for row in signals:
        at = row["as_of"]
        day = days.get(at) or days.setdefault(at, new_york_day(at))
        groups[(row["ticker"], row["pair"], row["structure"], day)].append(row)
    return {key: _signal_day(key, rows) for key, rows in groups.items()}


def _signal_day(key: tuple, rows: list[dict]) -> SignalDay:
    last = rows[0]
    for row in rows:
        if row["as_of"] >= last["as_of"]:
            last = row
    figures = [row["ff"] for row in rows if row["ff"] is not None]
    return SignalDay(
        ticker=key[0],
        pair=key[1],
        structure=key[2],
        day=key[3],
        signals=len(rows),
        passing=sum(1 for row in rows if row["passes_liquidity"]),
        first_as_of=min(row["as_of"] for row in rows),
        last_as_of=last["as_of"],
        ff_last=last["ff"],
        ff_min=min(figures, default=None),
        ff_max=max(figures, default=None),
        ff_ex_earnings_last=_number(last["data_ff_ex_earnings"]),
        front_expiry=last["front_expiry"],
        back_expiry=last["back_expiry"],
        strike=_number(last["data_strike"]),
        front_iv=_number(last["data_front_iv"]),
        back_iv=_number(last["data_back_iv"]),
        forward_iv=_number(last["data_forward_iv"]),
        spread_cost_pct=_number(last["data_spread_cost_pct"]),
        underlying_price=_number(last["data_underlying_price"]),
    )


LAST_OF_DAY = (
    "ff_last",
    "ff_ex_earnings_last",
    "front_expiry",
    "back_expiry",
    "strike",
    "front_iv",
    "back_iv",
    "forward_iv",
    "spread_cost_pct",
    "underlying_price",
)


def merged_signal_day(held: SignalDay, more: SignalDay) -> SignalDay:
    """``held`` with ``more`` added to it (the same key); ``more`` is the later stored on a tie of times."""
    held.signals += more.signals
    held.passing += more.passing
    held.first_as_of = min(held.first_as_of, more.first_as_of)
    held.ff_min = _extreme(min, held.ff_min, more.ff_min)
    held.ff_max = _extreme(max, held.ff_max, more.ff_max)
    if more.last_as_of >= held.last_as_of:
        held.last_as_of = more.last_as_of
        for name in LAST_OF_DAY:
            setattr(held, name, getattr(more, name))
    return held


def _extreme(pick, a: float | None, b: float | None) -> float | None:
    present = [x for x in (a, b) if x is not None]
    return pick(present) if present else None


def _number(text: str | None) -> float | None:
    """A figure of the signal's JSON read as text; None when absent, null or not a number."""
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _existing(
    model: type[models.Model], key: tuple[str, ...], rows: dict[tuple, models.Model]
) -> dict[tuple, models.Model]:
    """The stored rollup rows of these keys (one query: a superset by ticker and day, matched here)."""
    if not rows:
        return {}
    tickers = {k[0] for k in rows}
    days = {k[-1] for k in rows}
    stored = model.objects.filter(ticker__in=tickers, day__in=days)
    found = {tuple(getattr(row, name) for name in key): row for row in stored}
    return {k: found[k] for k in rows if k in found}


def _merge(model: type[models.Model], key: tuple[str, ...], rows: dict[tuple, models.Model]) -> int:
    """Add ``rows`` into the stored rollups; the number of rows created.

    Merged here, written as one upsert: the progress row's lock keeps every other batch out meanwhile, so
    the stored rows read are the ones overwritten."""
    if not rows:
        return 0
    stored = _existing(model, key, rows)
    merge = merged_scan_day if model is ScanDay else merged_signal_day
    final = [merge(stored[k], row) if k in stored else row for k, row in rows.items()]
    for row in final:
        row.pk = None  # inserted or, on its key, updated
    names = [f.name for f in model._meta.concrete_fields if not f.primary_key and f.name not in key]
    model.objects.bulk_create(
        final, update_conflicts=True, unique_fields=list(key), update_fields=names, batch_size=UPSERT_ROWS
    )
    return len(rows) - len(stored)


# --- Deleting ----------------------------------------------------------------------------------


def delete(batch: Batch) -> None:
    """Delete the batch's scans nothing keeps, with their signals; released references to them become NULL.

    Plain DELETEs, not Django's collector: a row that came to point at one meanwhile makes the commit fail
    (the foreign keys are checked then) instead of being cascaded away, and the next run tries again."""
    ids = batch.deleted_scan_ids
    if not ids:
        return
    signal_ids = [row["pk"] for row in batch.signals if row["scan_id"] not in batch.kept_scan_ids]
    for fk in released_references():
        targets = ids if fk.related_model is Scan else signal_ids
        for chunk in _chunks(targets):
            fk.model._base_manager.filter(**{f"{fk.name}__in": chunk}).update(**{fk.name: None})
    for chunk in _chunks(ids):
        _delete_where_in(Signal, "scan_id", chunk)
        _delete_where_in(Scan, "id", chunk)


def _delete_where_in(model: type[models.Model], column: str, ids: list[int]) -> None:
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(column)} IN ({marks})", ids)


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    """Under SQLite's oldest limit of bound parameters a statement."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def history_counts() -> dict[str, int]:
    """Rows of the full and the rolled-up history (the command's summary)."""
    return {model.__name__: model.objects.count() for model in (Scan, Signal, ScanDay, SignalDay)}
