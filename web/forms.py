"""The trader's forms: following tickers and every alert setting. Model rules are checked by full_clean."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django import forms

from accounts.models import DEFAULT_PAIRS, AlertSettings, User
from web.following import MAX_SYMBOLS_AT_ONCE, split_symbols

US_TIME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)

# The settings page's sections; a field the model gains later and no section names lands in "More".
SECTIONS = (
    ("Thresholds", ("ff_threshold", "discovery_mode", "discovery_threshold")),
    (
        "Pairs and structures",
        ("pairs", "front_tolerance_days", "back_tolerance_days", "atm_call_calendar", "double_calendar"),
    ),
    ("Liquidity and costs, per leg", ("min_open_interest", "min_volume", "max_spread_pct", "max_spread_cost_pct")),
    ("Earnings", ("earnings_policy",)),
    ("How often", ("cooldown_minutes", "consecutive_scans", "daily_cap", "discovery_daily_cap")),
    ("Delivery", ("delivery", "quiet_hours_start", "quiet_hours_end", "timezone")),
)


def time_zone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    others = sorted(zoneinfo.available_timezones() - set(US_TIME_ZONES))
    return [
        ("United States", [(zone, zone) for zone in US_TIME_ZONES]),
        ("Everywhere else", [(zone, zone) for zone in others]),
    ]


class FollowForm(forms.Form):
    tickers = forms.CharField(
        label="Follow tickers",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "AAPL, MSFT TSLA"}),
        help_text="Paste one or more symbols, separated by commas or spaces.",
    )

    def clean_tickers(self) -> list[str]:
        symbols = split_symbols(self.cleaned_data["tickers"])
        if not symbols:
            raise forms.ValidationError("Give at least one ticker symbol.")
        if len(symbols) > MAX_SYMBOLS_AT_ONCE:
            raise forms.ValidationError(f"At most {MAX_SYMBOLS_AT_ONCE} tickers at once ({len(symbols)} given).")
        return symbols


class AlertSettingsForm(forms.ModelForm):
    discovery_mode = forms.BooleanField(
        label="Discovery mode", required=False, help_text=User._meta.get_field("discovery_mode").help_text
    )
    pairs = forms.MultipleChoiceField(
        label="DTE pairs (front-back days to expiry)", widget=forms.CheckboxSelectMultiple
    )
    timezone = forms.ChoiceField(label="Time zone", choices=time_zone_choices)

    class Meta:
        model = AlertSettings
        # Every setting, including ones the model gains later (tests check the page offers them all).
        exclude = ("user",)  # noqa: DJ006
        widgets = {
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "delivery": forms.RadioSelect,
        }
        labels = {"quiet_hours_start": "Quiet hours from", "quiet_hours_end": "Quiet hours until"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A pair set in the admin beyond the standard three stays offered, so saving keeps it.
        offered = list(DEFAULT_PAIRS) + [p for p in self.instance.pairs or [] if p not in DEFAULT_PAIRS]
        self.fields["pairs"].choices = [(pair, f"{pair} days") for pair in offered]
        self.fields["discovery_mode"].initial = self.instance.user.discovery_mode

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("quiet_hours_start"), cleaned.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise forms.ValidationError("Give quiet hours as a pair, a start and an end, or leave both empty.")
        if start is not None and start == end:
            raise forms.ValidationError("Quiet hours start and end at the same time: leave both empty instead.")
        return cleaned

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        placed: set[str] = set()
        grouped = []
        for title, names in SECTIONS:
            present = [name for name in names if name in self.fields]
            placed.update(present)
            if present:
                grouped.append((title, [self[name] for name in present]))
        more = [self[name] for name in self.fields if name not in placed]
        if more:
            grouped.append(("More", more))
        return grouped

    def save(self, commit: bool = True) -> AlertSettings:
        settings = super().save(commit=commit)
        user = settings.user
        user.discovery_mode = self.cleaned_data["discovery_mode"]
        if commit:
            user.save(update_fields=["discovery_mode"])
        return settings


class OwnFillForm(forms.Form):
    """The debit the user paid for a placed calendar, a share (as their broker shows it)."""

    fill = forms.DecimalField(
        label="Your fill (debit a share, $)",
        min_value=Decimal("0.01"),
        max_value=Decimal("10000"),
        decimal_places=2,
        error_messages={
            "required": "Enter the debit you paid a share, e.g. 1.32.",
            "invalid": "Enter a number of dollars a share, e.g. 1.32.",
            "min_value": "A calendar is bought for a debit: enter at least $0.01 a share.",
            "max_value": "That is more than $10,000 a share: enter the debit a share, not a spread's total.",
            "max_decimal_places": "Enter the debit to the cent, e.g. 1.32.",
        },
    )
