"""``manage.py prune_history``: roll up and delete old scans and signals now (what the hourly beat task does)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from scanner.retention import PruneReport, history_counts, prune_history


class Command(BaseCommand):
    help = (
        "Roll the scans started more than SIGNAL_RETENTION_DAYS "
        f"(now {settings.SIGNAL_RETENTION_DAYS}) days ago up into one row per ticker a day (ScanDay) and their "
        "signals into one row per ticker x pair x structure a day (SignalDay), then delete them, in batches "
        f"of RETENTION_BATCH_SCANS (now {settings.RETENTION_BATCH_SCANS}) scans, each its own short transaction. "
        "Scans and signals that the board, alerts or trades point at are rolled up and kept. Safe to stop "
        "and run again, or beside the hourly beat task: each scan is rolled up once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be rolled up and deleted; change nothing."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days whole instead of SIGNAL_RETENTION_DAYS ({settings.SIGNAL_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=f"Scans a transaction instead of RETENTION_BATCH_SCANS ({settings.RETENTION_BATCH_SCANS}).",
        )
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="Stop after this long (default: when nothing is left)."
        )
        parser.add_argument("--json", action="store_true", help="Print the outcome as one JSON object.")

    def handle(self, *args, **options) -> None:
        days = settings.SIGNAL_RETENTION_DAYS if options["days"] is None else options["days"]
        if days < 1:
            raise CommandError("--days (or SIGNAL_RETENTION_DAYS) must be at least 1 to prune anything")
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        before = history_counts()

        def progress(report: PruneReport) -> None:
            rate = (report.scans + report.signals) / report.seconds if report.seconds else 0.0
            self.stderr.write(
                f"\rbatch {report.batches}: {report.scans:,} scans and {report.signals:,} signals rolled up, "
                f"{report.scans_deleted:,} and {report.signals_deleted:,} deleted "
                f"({rate:,.0f} rows/s)",
                ending="",
            )
            self.stderr.flush()

        report = prune_history(
            timezone.now(),
            retention_days=days,
            batch_size=options["batch_size"],
            max_seconds=options["max_seconds"],
            dry_run=options["dry_run"],
            progress=progress,
        )
        if report.batches:
            self.stderr.write("")
        if options["json"]:
            self.stdout.write(json.dumps({**report.as_dict(), "before": before, "after": history_counts()}))
            return
        verb = "Would roll up" if report.dry_run else "Rolled up"
        self.stdout.write(
            f"{verb} {report.scans:,} scans and {report.signals:,} signals started before "
            f"{report.cutoff:%Y-%m-%d %H:%M %Z} into {report.scan_days:,} new scan days and "
            f"{report.signal_days:,} new signal days in {report.batches} batches; "
            f"{'would delete' if report.dry_run else 'deleted'} {report.scans_deleted:,} scans and "
            f"{report.signals_deleted:,} signals, kept {report.scans_kept:,} scans that others point at "
            f"({report.seconds:.1f} s)."
        )
        if not report.finished:
            self.stdout.write("Stopped at --max-seconds: run it again to go on.")
        after = history_counts()
        self.stdout.write(
            "Rows now: " + ", ".join(f"{name} {after[name]:,} (before {before[name]:,})" for name in after)
        )
