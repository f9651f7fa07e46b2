"""The track record as text: the table `manage.py track_record` prints (and `manage.py demo` ends with)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from trades.results import Row

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


def lines(rows: Sequence[Row], open_count: int) -> list[str]:
    """The heading, then the results table (a blank line between groupings), or why there is none."""
    text = [
        f"Paper trades: {len(rows) and rows[0].count} closed, {open_count} open. Realistic fill: "
        f"{settings.TRADES_FILL_SHARE:g} of the way from mid to natural; commission "
        f"${settings.TRADES_COMMISSION_PER_CONTRACT:.2f} per contract per leg, on entry and exit."
    ]
    if not rows:
        return [*text, "No closed paper trades yet: nothing to summarise."]
    text.append("Returns are on the debit of one spread; P&L is per spread, in dollars, summed.\n")
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
            text.append("")  # a blank line between groupings
        text.append(
            "  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))).rstrip()
        )
    return text
