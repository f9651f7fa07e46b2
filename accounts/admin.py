from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import AlertSettings, Subscription, User


class AlertSettingsInline(admin.StackedInline):
    model = AlertSettings
    can_delete = False
    extra = 0


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 1
    fields = ("ticker", "created_at")
    readonly_fields = ("created_at",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "discovery_mode", "subscription_count", "is_active", "is_staff", "date_joined")
    list_filter = ("discovery_mode", "is_active", "is_staff", "is_superuser")
    list_editable = ("discovery_mode",)
    search_fields = ("email", "first_name", "last_name", "subscriptions__ticker")
    inlines = (AlertSettingsInline, SubscriptionInline)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Alerts", {"fields": ("discovery_mode",)}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2", "discovery_mode")}),)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_subscriptions=Count("subscriptions", distinct=True))

    @admin.display(description="subscriptions", ordering="_subscriptions")
    def subscription_count(self, user: User) -> int:
        return user._subscriptions


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "ff_threshold", "discovery_threshold", "delivery", "cooldown_minutes", "daily_cap")
    list_filter = ("delivery", "atm_call_calendar", "double_calendar", "timezone")
    search_fields = ("user__email",)
    autocomplete_fields = ("user",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("ticker", "user", "created_at")
    list_filter = ("created_at",)
    search_fields = ("ticker", "user__email")
    autocomplete_fields = ("user",)
