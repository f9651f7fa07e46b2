from django.contrib import admin

from scanner.models import (
    Alert,
    EarningsEvent,
    Scan,
    Signal,
    Ticker,
    UniverseExclusion,
    UniverseMember,
    UniverseSnapshot,
)


@admin.register(Ticker)
class TickerAdmin(admin.ModelAdmin):
    list_display = ("symbol", "last_scan_at", "last_scan_price", "has_options", "move_threshold")
    list_filter = ("has_options",)
    search_fields = ("symbol",)


class UniverseMemberInline(admin.TabularInline):
    model = UniverseMember
    extra = 0
    fields = ("rank", "ticker", "volume", "dollar_volume")
    readonly_fields = fields
    can_delete = False


@admin.register(UniverseSnapshot)
class UniverseSnapshotAdmin(admin.ModelAdmin):
    list_display = ("session_date", "created_at", "member_count")
    date_hierarchy = "session_date"
    inlines = (UniverseMemberInline,)

    @admin.display(description="members")
    def member_count(self, snapshot: UniverseSnapshot) -> int:
        return snapshot.members.count()


@admin.register(UniverseMember)
class UniverseMemberAdmin(admin.ModelAdmin):
    list_display = ("ticker", "rank", "snapshot", "volume", "dollar_volume")
    list_filter = ("snapshot__session_date",)
    search_fields = ("ticker",)
    list_select_related = ("snapshot",)


@admin.register(UniverseExclusion)
class UniverseExclusionAdmin(admin.ModelAdmin):
    list_display = ("ticker", "reason", "created_at")
    search_fields = ("ticker", "reason")


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


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("ticker", "user", "kind", "status", "pair", "structure", "ff", "created_at", "sent_at")
    list_filter = ("status", "kind", "structure", "trading_day")
    search_fields = ("ticker", "user__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("user", "signal")
    list_select_related = ("user",)
