from django.contrib import admin

from scanner.models import EarningsEvent, Scan, Signal, Ticker


@admin.register(Ticker)
class TickerAdmin(admin.ModelAdmin):
    list_display = ("symbol", "last_scan_at", "last_scan_price", "has_options", "move_threshold")
    list_filter = ("has_options",)
    search_fields = ("symbol",)


@admin.register(EarningsEvent)
class EarningsEventAdmin(admin.ModelAdmin):
    list_display = ("ticker", "date", "expected_move", "source")
    list_filter = ("source",)
    search_fields = ("ticker",)
    date_hierarchy = "date"


class SignalInline(admin.TabularInline):
    model = Signal
    extra = 0
    fields = ("structure", "pair", "front_expiry", "back_expiry", "ff", "passes_liquidity")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ("ticker", "reason", "outcome", "started_at", "fetch_ms", "compute_ms", "requests", "contracts")
    list_filter = ("outcome", "reason", "started_at")
    search_fields = ("ticker", "task_id", "error")
    date_hierarchy = "started_at"
    inlines = (SignalInline,)


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ("ticker", "structure", "pair", "front_expiry", "back_expiry", "ff", "passes_liquidity", "as_of")
    list_filter = ("structure", "pair", "passes_liquidity")
    search_fields = ("ticker",)
    date_hierarchy = "as_of"
    raw_id_fields = ("scan",)
