"""The operator's view of the scanner. Scans and signals are records of what happened: viewable, never
edited or added by hand. Figures are rounded to what they mean, times shown in New York time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db.models import F
from django.utils.html import format_html, format_html_join

from forwardfactor import admin_tasks
from scanner.models import EarningsEvent, Scan, ScanDay, Signal, SignalDay, Ticker

NEW_YORK = ZoneInfo("America/New_York")
OPTIONS_LABELS = {True: "listed", False: "no options listed", None: "unknown"}
# Strongest and tradable first: liquid signals, then by FF, signals without an FF last.
STRONGEST_FIRST = (F("passes_liquidity").desc(), F("ff").desc(nulls_last=True))


def new_york_time(value: datetime | None) -> str | None:
    return value.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S %Z") if value else None


def rounded(value: float | None, places: int) -> str | None:
    return None if value is None else f"{value:.{places}f}"


class ReadOnlyRecordAdmin(admin.ModelAdmin):
    """Viewable, not added or edited by hand. Deleting stays with Django's delete permission: deleting a
    user cascades to their alerts, which the admin refuses when the alerts' admin says no to deletes."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticker)
class TickerAdmin(admin.ModelAdmin):
    list_display = ("symbol", "last_scan", "last_price", "options", "move_threshold", "earnings_answer")
    list_filter = ("has_options", "earnings_answer")
    readonly_fields = ("earnings_checked_at", "earnings_answer")
    search_fields = ("symbol",)
    actions = ("scan_now",)

    @admin.display(description="last scan (New York)", ordering="last_scan_at")
    def last_scan(self, ticker: Ticker) -> str | None:
        return new_york_time(ticker.last_scan_at)

    @admin.display(description="last scan price", ordering="last_scan_price")
    def last_price(self, ticker: Ticker) -> str | None:
        return rounded(ticker.last_scan_price, 2)

    @admin.display(description="options", ordering="has_options")
    def options(self, ticker: Ticker) -> str:
        return OPTIONS_LABELS[ticker.has_options]

    @admin.action(description="Scan the selected tickers now", permissions=["change"])
    def scan_now(self, request, queryset) -> None:
        self.message_user(request, admin_tasks.scan_now(queryset.values_list("symbol", flat=True)))


@admin.register(EarningsEvent)
class EarningsEventAdmin(admin.ModelAdmin):
    list_display = ("ticker", "date", "time_of_day", "status", "expected_move", "source")
    list_filter = ("source", "status", "time_of_day")
    search_fields = ("ticker",)
    date_hierarchy = "date"


class SignalFigures:
    """Display columns shared by the signal changelist and the scan's signal inline."""

    @admin.display(description="FF", ordering="ff")
    def ff_rounded(self, signal: Signal) -> str | None:
        return rounded(signal.ff, 3)

    @admin.display(description="as of (New York)", ordering="as_of")
    def as_of_new_york(self, signal: Signal) -> str | None:
        return new_york_time(signal.as_of)


class SignalInline(SignalFigures, admin.TabularInline):
    model = Signal
    extra = 0
    fields = ("structure", "pair", "front_expiry", "back_expiry", "ff_rounded", "passes_liquidity")
    readonly_fields = fields
    ordering = STRONGEST_FIRST
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scan)
class ScanAdmin(ReadOnlyRecordAdmin):
    list_display = (
        "ticker",
        "reason",
        "outcome",
        "started",
        "fetch",
        "compute",
        "requests",
        "contracts",
        "price",
    )
    list_filter = ("outcome", "reason", "started_at")
    search_fields = ("ticker", "task_id", "error")
    date_hierarchy = "started_at"
    inlines = (SignalInline,)

    @admin.display(description="started (New York)", ordering="started_at")
    def started(self, scan: Scan) -> str | None:
        return new_york_time(scan.started_at)

    @admin.display(description="fetch ms", ordering="fetch_ms")
    def fetch(self, scan: Scan) -> str | None:
        return rounded(scan.fetch_ms, 0)

    @admin.display(description="compute ms", ordering="compute_ms")
    def compute(self, scan: Scan) -> str | None:
        return rounded(scan.compute_ms, 0)

    @admin.display(description="price", ordering="underlying_price")
    def price(self, scan: Scan) -> str | None:
        return rounded(scan.underlying_price, 2)


LEG_COLUMNS = (
    ("leg", "leg", None),
    ("type", "contract_type", None),
    ("expiry", "expiry", None),
    ("strike", "strike", 2),
    ("bid", "bid", 2),
    ("ask", "ask", 2),
    ("mid", "mid", 2),
    ("spread % of mid", "spread_pct", 1),
    ("open interest", "open_interest", 0),
    ("volume", "volume", 0),
    ("IV", "iv", 4),
    ("IV from", "iv_source", None),
)


def _leg_cell(value, places: int | None) -> str:
    if value is None:
        return "-"
    return str(value) if places is None else f"{value:.{places}f}"


@admin.register(Signal)
class SignalAdmin(SignalFigures, ReadOnlyRecordAdmin):
    list_display = (
        "ticker",
        "structure",
        "pair",
        "front_expiry",
        "back_expiry",
        "ff_rounded",
        "passes_liquidity",
        "as_of_new_york",
    )
    list_filter = ("structure", "pair", "passes_liquidity")
    search_fields = ("ticker",)
    date_hierarchy = "as_of"
    ordering = STRONGEST_FIRST
    fields = (
        "scan",
        "ticker",
        "structure",
        "pair",
        "front_expiry",
        "back_expiry",
        "ff_rounded",
        "passes_liquidity",
        "as_of_new_york",
        "legs",
        "reasons_and_flags",
    )
    readonly_fields = fields

    @admin.display(description="legs")
    def legs(self, signal: Signal) -> str:
        legs = signal.data.get("legs") or []
        if not legs:
            return "-"
        header = format_html_join("", "<th>{}</th>", ((title,) for title, _, _ in LEG_COLUMNS))
        rows = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (
                    format_html_join(
                        "", "<td>{}</td>", ((_leg_cell(leg.get(key), places),) for _, key, places in LEG_COLUMNS)
                    ),
                )
                for leg in legs
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, rows)

    @admin.display(description="reasons and flags")
    def reasons_and_flags(self, signal: Signal) -> str:
        notes = [*signal.data.get("reasons", []), *signal.data.get("flags", [])]
        return ", ".join(notes) or "-"


@admin.register(SignalDay)
class SignalDayAdmin(ReadOnlyRecordAdmin):
    """A day of a ticker x pair x structure's signals, rolled up when its Signal rows were pruned."""

    list_display = ("ticker", "day", "structure", "pair", "signals", "passing", "last_ff", "max_ff", "last_at")
    list_filter = ("structure", "pair")
    search_fields = ("ticker",)
    date_hierarchy = "day"

    @admin.display(description="last FF", ordering="ff_last")
    def last_ff(self, row: SignalDay) -> str | None:
        return rounded(row.ff_last, 3)

    @admin.display(description="max FF", ordering="ff_max")
    def max_ff(self, row: SignalDay) -> str | None:
        return rounded(row.ff_max, 3)

    @admin.display(description="last (New York)", ordering="last_as_of")
    def last_at(self, row: SignalDay) -> str | None:
        return new_york_time(row.last_as_of)


@admin.register(ScanDay)
class ScanDayAdmin(ReadOnlyRecordAdmin):
    """A day of a ticker's scans, rolled up when its Scan rows were pruned."""

    list_display = ("ticker", "day", "scans", "outcome_counts", "requests", "contracts", "alerts", "price")
    search_fields = ("ticker",)
    date_hierarchy = "day"

    @admin.display(description="outcomes")
    def outcome_counts(self, row: ScanDay) -> str:
        return ", ".join(f"{outcome} {n}" for outcome, n in sorted(row.outcomes.items())) or "-"

    @admin.display(description="last price", ordering="last_price")
    def price(self, row: ScanDay) -> str | None:
        return rounded(row.last_price, 2)
