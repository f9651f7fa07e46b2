"""The operator's view of the paper trades: a read-only record, filterable like the track record."""

from __future__ import annotations

from django.contrib import admin

from scanner.admin import ReadOnlyRecordAdmin, new_york_time, rounded
from trades.models import Mark, PaperTrade


class MarkInline(admin.TabularInline):
    """Closing credits a share, to the tenth of a cent."""

    model = Mark
    fields = ("marked", "credit_mid", "credit_natural", "credit_fill", "unquoted", "flags")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

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
