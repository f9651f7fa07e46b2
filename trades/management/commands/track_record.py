"""manage.py track_record: the paper trades' results by FF bucket, pair, structure and earnings."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from trades import report, results
from trades.models import PaperTrade


class Command(BaseCommand):
    help = (
        "Print the track record of the paper trades: closed trades grouped by FF bucket, pair, structure and "
        "earnings in the window, with count, win rate, mean/median/worst return on debit and cumulative "
        "P&L per spread, at the mid and at the realistic fill (commissions included)."
    )

    def handle(self, *args, **options) -> None:
        open_count = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count()
        for line in report.lines(results.table(), open_count):
            self.stdout.write(line)
