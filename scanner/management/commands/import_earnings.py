"""``manage.py import_earnings FILE.csv``: load known earnings dates (and expected moves) for the engine."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.validators import normalize_ticker, validate_ticker
from scanner.models import EarningsEvent

REQUIRED = ("ticker", "date")


@dataclass(frozen=True)
class EarningsRow:
    ticker: str
    date: date
    expected_move: float | None
    source: str


class Command(BaseCommand):
    help = (
        "Import earnings dates from a CSV with a header row: ticker,date[,expected_move][,source]. "
        "date is YYYY-MM-DD; expected_move is the expected one-day move as a fraction (0.05) or a "
        "percentage (5%), empty to let the engine estimate it from the expiries around the event. "
        "Rows update existing (ticker, date) events. Nothing is written unless every row is valid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file to import.")
        parser.add_argument("--source", default="csv", help="Source label stored on rows without one (default: csv).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")

    def handle(self, *args, **options) -> None:
        rows = read_rows(options["path"], options["source"])
        if options["dry_run"]:
            self.stdout.write(f"{len(rows)} valid rows in {options['path']} (dry run: nothing written)")
            return
        created = 0
        with transaction.atomic():
            for row in rows:
                _, was_created = EarningsEvent.objects.update_or_create(
                    ticker=row.ticker,
                    date=row.date,
                    defaults={"expected_move": row.expected_move, "source": row.source},
                )
                created += was_created
        self.stdout.write(f"imported {len(rows)} earnings events ({created} new, {len(rows) - created} updated)")


def read_rows(path: str, default_source: str) -> list[EarningsRow]:
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
    rows = []
    for line, raw in enumerate(reader, start=2):
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(record.values()):
            continue
        rows.append(_row(record, default_source, f"{path}:{line}"))
    return rows


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
    return EarningsRow(
        ticker, day, _move(record.get("expected_move", ""), where), record.get("source") or default_source
    )


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
