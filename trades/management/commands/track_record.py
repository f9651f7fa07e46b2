"""manage.py track_record: the paper trades' results by FF bucket, pair, structure and earnings."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from trades import results
from trades.models import PaperTrade

HEADER = (
    "group",
    "value",
    "trades",
    "win",
    "mean mid",
    "mean fill",
    "median fill",
    "worst fill",
    "P&L mid",
    "P&L fill",
)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def dollars(value: float) -> str:
    return f"{value:+,.2f}"


class Command(BaseCommand):
    help = (
        "Print the track record of the paper trades: closed trades grouped by FF bucket, pair, structure and "
        "earnings in the window, with count, win rate, mean/median/worst return on debit and cumulative "
        "P&L per spread, at the mid and at the realistic fill (commissions included)."
    )

    def handle(self, *args, **options) -> None:
        open_count = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count()
        rows = results.table()
        self.stdout.write(
            f"Paper trades: {len(rows) and rows[0].count} closed, {open_count} open. Realistic fill: "
            f"{settings.TRADES_FILL_SHARE:g} of the way from mid to natural; commission "
            f"${settings.TRADES_COMMISSION_PER_CONTRACT:.2f} per contract per leg, on entry and exit."
        )
        if not rows:
            self.stdout.write("No closed paper trades yet: nothing to summarise.")
            return
        self.stdout.write("Returns are on the debit of one spread; P&L is per spread, in dollars, summed.\n")
        cells = [HEADER] + [
            (
                r.group,
                r.value,
                str(r.count),
                f"{r.win_rate * 100:.0f}%",
                percent(r.mean_return_mid),
                percent(r.mean_return_fill),
                percent(r.median_return_fill),
                percent(r.worst_return_fill),
                dollars(r.pnl_mid),
                dollars(r.pnl_fill),
            )
            for r in rows
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
        for i, line in enumerate(cells):
            if i > 1 and line[0] != cells[i - 1][0]:
                self.stdout.write("")  # a blank line between groupings
            text = "  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths)))
            self.stdout.write(text.rstrip())
