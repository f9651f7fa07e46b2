"""``manage.py import_earnings FILE.csv``: load known earnings dates (and expected moves) for the engine."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from accounts.validators import normalize_ticker, validate_ticker
from scanner.models import EarningsEvent

REQUIRED = ("ticker", "date")


@dataclass(frozen=True)
class EarningsRow:
    ticker: str
    date: date
    expected_move: float | None
    source: str


@dataclass
class ImportPlan:
    """What an import does to the stored events (computed the same way for --dry-run)."""

    new: list[EarningsEvent] = field(default_factory=list)
    updated: list[EarningsEvent] = field(default_factory=list)
    unchanged: int = 0  # rows equal to the stored event
    repeated: int = 0  # rows equal to an earlier row of the file

    def summary(self) -> str:
        rows = len(self.new) + len(self.updated) + self.unchanged + self.repeated
        return (
            f"{rows} rows: {len(self.new)} new, {len(self.updated)} updated, "
            f"{self.unchanged} already stored as is, {self.repeated} repeated in the file"
        )


class Command(BaseCommand):
    help = (
        "Import earnings dates from a CSV with a header row: ticker,date[,expected_move][,source]. "
        "date is YYYY-MM-DD; expected_move is the expected one-day move as a fraction (0.05) or a "
        "percentage (5%), empty to let the engine estimate it from the expiries around the event (an empty "
        "cell keeps an expected move already stored). Rows update existing (ticker, date) events; rows equal "
        "to what is stored or to an earlier row are counted and skipped. Nothing is written unless every row "
        "is valid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file to import.")
        parser.add_argument("--source", default="csv", help="Source label stored on rows without one (default: csv).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")

    def handle(self, *args, **options) -> None:
        rows, repeated = read_rows(options["path"], options["source"])
        if options["dry_run"]:
            plan = plan_import(rows, repeated)
            self.stdout.write(f"{options['path']}: {plan.summary()} (dry run: nothing written)")
            return
        try:
            with transaction.atomic():
                plan = plan_import(rows, repeated, lock=True)
                EarningsEvent.objects.bulk_create(plan.new)
                EarningsEvent.objects.bulk_update(plan.updated, ["expected_move", "source"])
        except IntegrityError:
            raise CommandError("another import stored some of these events meanwhile; run the import again") from None
        self.stdout.write(f"imported {plan.summary()}")


def plan_import(rows: list[EarningsRow], repeated: int, lock: bool = False) -> ImportPlan:
    """Sort the file's rows into new, updated and already stored events against the database."""
    stored = EarningsEvent.objects.filter(ticker__in={row.ticker for row in rows}, date__in={row.date for row in rows})
    if lock:
        stored = stored.select_for_update()
    existing = {(event.ticker, event.date): event for event in stored}
    plan = ImportPlan(repeated=repeated)
    for row in rows:
        event = existing.get((row.ticker, row.date))
        if event is None:
            plan.new.append(EarningsEvent(**asdict(row)))
            continue
        # An empty cell says nothing about the move: it must not erase one already known.
        move = row.expected_move if row.expected_move is not None else event.expected_move
        if (move, row.source) == (event.expected_move, event.source):
            plan.unchanged += 1
            continue
        event.expected_move, event.source = move, row.source
        plan.updated.append(event)
    return plan


def read_rows(path: str, default_source: str) -> tuple[list[EarningsRow], int]:
    """The file's valid rows, one per (ticker, date), and how many rows merely repeated an earlier one."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    fields = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise CommandError(f"{path}: header needs columns {', '.join(REQUIRED)} (missing {', '.join(missing)})")
    rows: dict[tuple[str, date], tuple[EarningsRow, int]] = {}
    repeated = 0
    for line, raw in enumerate(reader, start=2):
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(record.values()):
            continue
        row = _row(record, default_source, f"{path}:{line}")
        earlier = rows.get((row.ticker, row.date))
        if earlier is None:
            rows[(row.ticker, row.date)] = (row, line)
        elif earlier[0] == row:
            repeated += 1
        else:
            # Which of the two is right is the author's call, not ours.
            raise CommandError(
                f"{path}:{line}: {row.ticker} {row.date} is already on line {earlier[1]} with other values"
            )
    return [row for row, _ in rows.values()], repeated


def _row(record: dict[str, str], default_source: str, where: str) -> EarningsRow:
    ticker = normalize_ticker(record["ticker"])
    try:
        validate_ticker(ticker)
    except ValidationError as error:
        raise CommandError(f"{where}: {error.messages[0]}") from None
    try:
        day = date.fromisoformat(record["date"])
    except ValueError:
        raise CommandError(f"{where}: date {record['date']!r} is not YYYY-MM-DD") from None
    source = record.get("source") or default_source
    if source == EarningsEvent.VENDOR:
        # The refresh removes vendor rows the vendor stops listing: an imported date must not be one.
        raise CommandError(f"{where}: source {source!r} is kept for the vendor's own rows; use another label")
    return EarningsRow(ticker, day, _move(record.get("expected_move", ""), where), source)


def _move(raw: str, where: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise CommandError(f"{where}: expected_move {raw!r} is not a number such as 0.05 or 5%") from None
    if not 0 < value < 1:
        raise CommandError(f"{where}: expected_move {raw!r} must lie between 0 and 100%")
    return value
