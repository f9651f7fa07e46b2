"""The operator's view of the paper trades and the users' placed trades: read-only records, filterable
like the track record, each with its marks (and a placed trade with its reminders)."""

from __future__ import annotations

from django.contrib import admin

from scanner.admin import ReadOnlyRecordAdmin, new_york_time, rounded
from trades.models import Mark, PaperTrade, PlacedMark, PlacedTrade, Reminder


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MarkInline(ReadOnlyInline):
    """Closing credits a share, to the tenth of a cent."""

    model = Mark
    fields = ("marked", "credit_mid", "credit_natural", "credit_fill", "unquoted", "flags")
    readonly_fields = fields

    @admin.display(description="at (New York)")
    def marked(self, mark: Mark) -> str | None:
        return new_york_time(mark.at)

    @admin.display(description="mid")
    def credit_mid(self, mark: Mark) -> str | None:
        return rounded(mark.mid, 3)

    @admin.display(description="natural")
    def credit_natural(self, mark: Mark) -> str | None:
        return rounded(mark.natural, 3)

    @admin.display(description="realistic fill")
    def credit_fill(self, mark: Mark) -> str | None:
        return rounded(mark.fill, 3)


@admin.register(PaperTrade)
class PaperTradeAdmin(ReadOnlyRecordAdmin):
    list_display = (
        "ticker",
        "structure",
        "pair",
        "front_expiry",
        "back_expiry",
        "strikes",
        "reference_ff",
        "opened",
        "status",
        "exit_reason",
        "pnl_mid",
        "pnl_fill",
        "return_fill_pct",
    )
    list_filter = ("status", "exit_reason", "structure", "pair", "earnings_in_window")
    search_fields = ("ticker",)
    date_hierarchy = "opened_at"
    inlines = (MarkInline,)

    @admin.display(description="FF", ordering="ff")
    def reference_ff(self, trade: PaperTrade) -> str | None:
        return rounded(trade.ff, 3)

    @admin.display(description="opened (New York)", ordering="opened_at")
    def opened(self, trade: PaperTrade) -> str | None:
        return new_york_time(trade.opened_at)

    @admin.display(description="return (fill)", ordering="return_fill")
    def return_fill_pct(self, trade: PaperTrade) -> str | None:
        return None if trade.return_fill is None else f"{trade.return_fill * 100:+.1f}%"


class PlacedMarkInline(MarkInline):
    """A placed trade's own marks (none when its paper trade's marks are its marks)."""

    model = PlacedMark


class ReminderInline(ReadOnlyInline):
    model = Reminder
    fields = ("kind", "due", "status", "sent", "error")
    readonly_fields = fields

    @admin.display(description="due (New York)")
    def due(self, reminder: Reminder) -> str | None:
        return new_york_time(reminder.due_at)

    @admin.display(description="sent (New York)")
    def sent(self, reminder: Reminder) -> str | None:
        return new_york_time(reminder.sent_at)


@admin.register(PlacedTrade)
class PlacedTradeAdmin(ReadOnlyRecordAdmin):
    list_display = (
        "user",
        "ticker",
        "structure",
        "pair",
        "front_expiry",
        "back_expiry",
        "strikes",
        "placed",
        "status",
        "debit",
        "last_fill",
        "pnl",
    )
    list_filter = ("status", "structure", "pair")
    search_fields = ("ticker", "user__email")
    date_hierarchy = "placed_at"
    list_select_related = ("user",)
    inlines = (PlacedMarkInline, ReminderInline)

    @admin.display(description="placed (New York)", ordering="placed_at")
    def placed(self, trade: PlacedTrade) -> str | None:
        return new_york_time(trade.placed_at)

    @admin.display(description="entry debit")
    def debit(self, trade: PlacedTrade) -> str:
        return f"{rounded(trade.entry_debit, 2)} ({trade.entry_source})"

    @admin.display(description="last mark (fill)", ordering="last_mark_fill")
    def last_fill(self, trade: PlacedTrade) -> str | None:
        return rounded(trade.last_mark_fill, 3)

    @admin.display(description="P&L per spread")
    def pnl(self, trade: PlacedTrade) -> str | None:
        value = trade.pnl_per_spread
        return None if value is None else f"{value:+,.2f}"
