"""``manage.py refresh_universe``: build the discovery universe now and show it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from discovery.universe import RankedMember, RefreshOutcome, refresh_universe
from scanner.polygon.errors import MarketDataError

MAX_TOP = 10_000
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Build the discovery universe: the session's stocks ranked by dollar volume (volume x VWAP), "
        "without prices under UNIVERSE_MIN_PRICE, OTC names and the admin's exclusion list, keeping the "
        "first N with listed options. Stores it as the universe of the session used; re-running the same "
        "session replaces it. With --dry-run it ranks and prints the same way but stores nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--top",
            type=str,
            default=None,
            metavar="N",
            help=f"Universe size (default UNIVERSE_SIZE={settings.UNIVERSE_SIZE}; 0: every optionable name above "
            "UNIVERSE_MIN_PRICE and UNIVERSE_MIN_DOLLAR_VOLUME).",
        )
        parser.add_argument(
            "--date",
            type=str,
            default=None,
            metavar="YYYY-MM-DD",
            help="Use the last NYSE session on or before this date (default: the last completed session).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print {"date": …, "members": [{"rank", "ticker", "volume", "dollar_volume"}, …]} '
            "where date is the session actually used.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Rank and print, store nothing: the stored universe, the tickers' options checks and the "
            "stream's watch set stay as they are.",
        )

    def handle(self, *args, **options) -> None:
        size = _parse_top(options["top"])
        day = _parse_date(options["date"])
        progress = ProgressBar(self.stderr, size)
        try:
            outcome = refresh_universe(day=day, size=size, progress=progress.update, store=not options["dry_run"])
        except MarketDataError as exc:
            raise CommandError(f"market data: {exc}") from None
        finally:
            progress.finish()
        if outcome.session_date is None:
            raise CommandError(outcome.message)
        self.stderr.write(outcome.message)
        if options["json"]:
            self.stdout.write(_json_document(outcome))
        else:
            self.stdout.write(_table(outcome.members))


def _parse_top(raw: str | None) -> int:
    if raw is None:
        return settings.UNIVERSE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise CommandError(f"--top {raw!r}: give a whole number of tickers, e.g. --top 100") from None
    if not 0 <= size <= MAX_TOP:
        raise CommandError(f"--top {size}: choose between 1 and {MAX_TOP} (0: every optionable name above the floors)")
    return size


def _parse_date(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--date {raw!r}: not a date; write it as YYYY-MM-DD, e.g. --date 2025-06-06") from None
    from market.clock import NEW_YORK, last_completed_session, market_now, trading_day

    last_completed = last_completed_session(market_now())
    session = trading_day(datetime.combine(day, time(12), tzinfo=NEW_YORK).astimezone(UTC))
    if session > last_completed:
        raise CommandError(
            f"--date {raw}: that session has not closed yet; the last completed session is {last_completed.isoformat()}"
        )
    return day


def _json_document(outcome: RefreshOutcome) -> str:
    return json.dumps(
        {"date": outcome.session_date.isoformat(), "members": [member.as_dict() for member in outcome.members]}
    )


def _table(members: list[RankedMember]) -> str:
    lines = [f"{'rank':>4}  {'ticker':<8} {'volume':>15} {'dollar volume':>15}"]
    for member in members:
        lines.append(
            f"{member.rank:>4}  {member.ticker:<8} {member.volume:>15,.0f} {_dollars(member.dollar_volume):>15}"
        )
    return "\n".join(lines)


def _dollars(amount: float) -> str:
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= divisor:
            return f"${amount / divisor:,.2f}{suffix}"
    return f"${amount:,.0f}"


class ProgressBar:
    """Options-check progress on stderr; redrawn in place on a terminal, silent otherwise."""

    def __init__(self, stream: OutputWrapper, target: int) -> None:
        self._stream = stream
        self._target = target
        self._interactive = stream.isatty()
        self._drawn = False

    def update(self, checked: int, found: int) -> None:
        if not self._interactive:
            return
        filled = BAR_WIDTH * found // self._target if self._target else BAR_WIDTH * checked // max(checked, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._stream.write(
            f"\rchecking listed options [{bar}] {found}/{self._target} found, {checked} checked", ending=""
        )
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("")
            self._stream.flush()
