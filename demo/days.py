"""The demo's further trading days: the simulated market moves on a session at a time, the watched
names are scanned a few times in each session (like the heartbeat), and the paper trades they open
are marked and closed, so the run ends with a track record.

The clock stands still at each round (the market is read at fixed times), so with the same seed and
sessions the further days play out the same whatever the machine's speed. Scans run in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time

from django.conf import settings

from marketsim.server import MarketSimServer
from marketsim.session import NEW_YORK

Say = Callable[[str], None]

# Two names whose front month is rich without an earnings event (an inverted term structure that
# mean-reverts over the days): the simulated market's other rich fronts are all earnings events,
# which the reference rule judges ex-earnings and so never trades. They are calm (a low volatility):
# a scan quotes only the strikes nearest the money, so a trade is marked while its strike stays the
# nearest, and one whose strike is left behind closes unquoted. symbol, price, volatility, term slope.
RICH_NAMES: tuple[tuple[str, float, float, float], ...] = (
    ("INVRT", 32.0, 0.12, -0.5),
    ("BKWDN", 41.0, 0.10, -0.6),
    ("CURVE", 58.0, 0.15, -0.55),
)
RICH_VOLUME = 20_000_000
# The rounds of scans in each further session (New York time), then the beat's daily targeted mark of
# the open trades' very contracts, then its exit task, near the close.
SCAN_TIMES = (time(10, 0), time(15, 30))
DAILY_MARK_AT = time(15, 40)
CLOSE_TASK_AT = time(15, 45)
# By default the exit rule holds a calendar until the day before its front expiry (about a month): the
# demo's trades close after this many days (TRADES_MAX_HOLD_DAYS), unless a run sets its own. The
# maximum hold ends at a session's exit time (15:45), just after the daily mark has quoted the trade's
# own legs: a trade opened on one day closes at the next day's exit on that day's quotes.
DEMO_HOLD_DAYS = 1.0


@dataclass
class DayReport:
    day: str
    watched: int
    scans: int
    opened: int
    marked: int  # by the daily targeted mark
    closed: int  # by the day's scans (take-profit), the daily mark and the exit task
    open_at_close: int


@dataclass
class TrackRecord:
    """The run's paper trades: the results table's rows (trades.results.Row as dicts) and the days."""

    hold_days: float | None
    closed: int = 0
    open: int = 0
    rows: list[dict] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)


def add_rich_names(sim: MarketSimServer) -> list[str]:
    for symbol, price, volatility, slope in RICH_NAMES:
        sim.add_ticker(symbol, price=price, volume=RICH_VOLUME, volatility=volatility, term_slope=slope)
    return [symbol for symbol, *_ in RICH_NAMES]


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, NEW_YORK)


def run_trades(since: datetime):
    """The paper trades of this run: opened in its sessions (the demo clears them before it starts)."""
    from trades.models import PaperTrade

    return PaperTrade.objects.filter(opened_at__gte=since)


def clear_trades(since: datetime) -> int:
    """Forget the paper trades an earlier run opened in these sessions, so the record is this run's."""
    return run_trades(since).delete()[0]


def play_days(sim: MarketSimServer, say: Say, days: int, since: datetime) -> list[DayReport]:
    """Days 2..`days`: advance the market, scan the watch set at each round, close the trades due."""
    from scanner.scanning import scan_and_alert
    from scanner.stream.watchset import load_watch_set
    from trades.models import PaperTrade
    from trades.tasks import close_due_trades, mark_open_trades

    reports = []
    trades = run_trades(since)
    sim.clock.set(sim.now(), speed=0)  # from here on the demo sets the time
    for number in range(2, days + 1):
        sim.next_session(SCAN_TIMES[0])
        day = sim.session_date
        before_open = set(trades.values_list("pk", flat=True))
        closed_before = trades.filter(status=PaperTrade.Status.CLOSED).count()
        scans, watched = 0, 0
        for clock in SCAN_TIMES:
            sim.clock.set(at(day, clock))
            symbols = sorted(load_watch_set().symbols)
            watched = max(watched, len(symbols))
            for symbol in symbols:
                report = scan_and_alert(symbol, "heartbeat")
                scans += report.outcome not in ("skipped", "deferred")
        sim.clock.set(at(day, DAILY_MARK_AT))
        marked = mark_open_trades.apply().get()  # the beat's tasks, run here at the market's time
        sim.clock.set(at(day, CLOSE_TASK_AT))
        close_due_trades.apply()
        report = DayReport(
            day=day.isoformat(),
            watched=watched,
            scans=scans,
            opened=trades.exclude(pk__in=before_open).count(),
            marked=marked.get("marked", 0),
            closed=trades.filter(status=PaperTrade.Status.CLOSED).count() - closed_before,
            open_at_close=trades.filter(status=PaperTrade.Status.OPEN).count(),
        )
        reports.append(report)
        say(
            f"Day {number} ({day:%a %Y-%m-%d}): {report.scans} scans of {report.watched} watched tickers at "
            f"{', '.join(f'{t:%H:%M}' for t in SCAN_TIMES)}; {report.opened} paper trades opened, "
            f"{report.marked} marked at {DAILY_MARK_AT:%H:%M} from their own contracts, {report.closed} closed, "
            f"{report.open_at_close} open at the close."
        )
    return reports


def track_record(since: datetime, reports: list[DayReport]) -> TrackRecord:
    from trades import results
    from trades.models import PaperTrade

    trades = run_trades(since)
    rows = results.table(trades.filter(status=PaperTrade.Status.CLOSED))
    return TrackRecord(
        hold_days=settings.TRADES_MAX_HOLD_DAYS,
        closed=rows[0].count if rows else 0,
        open=trades.filter(status=PaperTrade.Status.OPEN).count(),
        rows=[asdict(row) for row in rows],
        days=[asdict(report) for report in reports],
    )
