"""``manage.py refresh_underlyings``: refresh the table of optionable underlyings from the vendor now."""

from __future__ import annotations

import json
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scanner.polygon.errors import MarketDataError
from scanner.underlyings import EmptyListingError, refresh_from_vendor


class Command(BaseCommand):
    help = (
        "Refresh the table of optionable underlyings (the tickers traders may follow) from the vendor: "
        "every underlying with calls on the next standard monthly expiration, all pages of the option "
        "contracts reference. A name the vendor has not listed for OPTIONABLE_UNDERLYINGS_KEEP_DAYS "
        f"(now {settings.OPTIONABLE_UNDERLYINGS_KEEP_DAYS}) days is removed; a failed refresh changes nothing. "
        "Beat runs it daily at 07:30 New York time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expiration",
            metavar="YYYY-MM-DD",
            default=None,
            help="Ask about this expiration date instead of the next standard monthly.",
        )
        parser.add_argument("--json", action="store_true", help="Print the outcome as one JSON object.")

    def handle(self, *args, **options) -> None:
        expiration = _parse_date(options["expiration"])

        def progress(pages: int, found: int) -> None:
            self.stderr.write(f"\rpage {pages}: {found:,} underlyings so far", ending="")
            self.stderr.flush()

        try:
            outcome = refresh_from_vendor(expiration=expiration, progress=progress)
        except (MarketDataError, EmptyListingError) as exc:
            self.stderr.write("")
            raise CommandError(f"refresh failed, the table is unchanged: {exc}") from exc
        self.stderr.write("")
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_dict()))
            return
        self.stdout.write(
            f"Expiration {outcome.expiration.isoformat()}: the vendor lists {outcome.listed:,} underlyings "
            f"({outcome.requests} requests); {outcome.added:,} added, {outcome.removed:,} removed after "
            f"{settings.OPTIONABLE_UNDERLYINGS_KEEP_DAYS} days unlisted; {outcome.size:,} in the table."
        )
        if outcome.skipped:
            self.stdout.write(f"Not tickers we accept, skipped: {', '.join(outcome.skipped[:20])}")


def _parse_date(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--expiration must be YYYY-MM-DD, got {raw!r}") from None
