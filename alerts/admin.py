from django.contrib import admin

from alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("ticker", "user", "kind", "status", "pair", "structure", "ff", "created_at", "sent_at")
    list_filter = ("status", "kind", "structure", "trading_day")
    search_fields = ("ticker", "user__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("user", "signal")
    list_select_related = ("user",)
