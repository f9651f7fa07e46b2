from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, OuterRef, Subquery
from django.forms.models import BaseInlineFormSet

from accounts.models import AlertSettings, Subscription, User
from accounts.validators import normalize_ticker
from forwardfactor import admin_tasks

OPTIONS_LABELS = {True: "listed", False: "no options listed", None: "unknown"}


class SubscriptionForm(forms.ModelForm):
    def clean_ticker(self) -> str:
        # The model normalises too, but a formset checks its rows' uniqueness on the forms' cleaned
        # data: "pltr" beside an existing "PLTR" must read as the duplicate it is, not reach the database.
        return normalize_ticker(self.cleaned_data["ticker"])


class AlertSettingsFormSet(BaseInlineFormSet):
    def save_new(self, form, commit=True):
        # Saving a new user already created their settings with the defaults (accounts.signals):
        # the inline's values update that row instead of inserting a second one.
        existing = AlertSettings.objects.filter(user=self.instance).values_list("pk", flat=True).first()
        if existing is not None:
            form.instance.pk = existing
            form.instance._state.adding = False
        return super().save_new(form, commit=commit)


def with_options_listed(queryset):
    """Annotate subscriptions with their ticker's has_options. Scanner sits above accounts (DESIGN.md §2),
    so its Ticker is looked up by name, as the scan task is started by name."""
    ticker = apps.get_model("scanner", "Ticker")
    listed = ticker.objects.filter(symbol=OuterRef("ticker")).values("has_options")[:1]
    return queryset.annotate(_has_options=Subquery(listed))


@admin.display(description="options", ordering="_has_options")
def options_listed(subscription: Subscription) -> str:
    return OPTIONS_LABELS[subscription._has_options]


class AlertSettingsInline(admin.StackedInline):
    model = AlertSettings
    formset = AlertSettingsFormSet
    can_delete = False
    extra = 0


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    form = SubscriptionForm
    extra = 1
    fields = ("ticker", options_listed, "created_at")
    readonly_fields = (options_listed, "created_at")

    def get_queryset(self, request):
        return with_options_listed(super().get_queryset(request))


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
        return super().get_queryset(request).annotate(_subscriptions=Count("subscriptions", distinct=True))

    @admin.display(description="subscriptions", ordering="_subscriptions")
    def subscription_count(self, user: User) -> int:
        return user._subscriptions


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "ff_threshold", "discovery_threshold", "delivery", "cooldown_minutes", "daily_cap")
    list_filter = ("delivery", "atm_call_calendar", "double_calendar", "timezone")
    search_fields = ("user__email",)
    # Not autocomplete_fields: Django 5.2's autocomplete widget, re-rendering a form after a non-number
    # was posted as the user, queries it as an id and raises (a 500). The raw-id widget copes.
    raw_id_fields = ("user",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("ticker", "user", options_listed, "created_at")
    list_filter = ("created_at",)
    search_fields = ("ticker", "user__email")
    raw_id_fields = ("user",)  # not autocomplete_fields: see AlertSettingsAdmin
    actions = ("scan_now",)

    def get_queryset(self, request):
        return with_options_listed(super().get_queryset(request))

    @admin.action(description="Scan the selected tickers now", permissions=["change"])
    def scan_now(self, request, queryset) -> None:
        self.message_user(request, admin_tasks.scan_now(queryset.values_list("ticker", flat=True)))
