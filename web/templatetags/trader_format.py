"""How the site writes times, structures and links to pages other parts of the site serve."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.urls import reverse

register = template.Library()

NEW_YORK = ZoneInfo("America/New_York")
STRUCTURE_LABELS = {"atm_call_calendar": "ATM call calendar", "double_calendar": "Double calendar"}
SIGNALS_PATH = "/signals/"
EXIT_REASONS = {
    "exit_rule": "exit rule",
    "take_profit": "take-profit",
    "max_hold": "maximum hold",
    "no_quote": "no quote at the exit: closed at its last mark",
}
TRADE_FLAGS = {
    "no_quote": "no quote at the exit: closed at its last mark",
    "leg_unquoted": "a leg unquoted at the last mark (its last quote kept)",
    "stale_quotes": "stale quotes at the last mark",
}


@register.filter
def new_york(value: datetime | None) -> str:
    """A time as a trader reads it: New York time, to the minute."""
    return value.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M %Z") if value else ""


@register.filter
def structure_label(value: str) -> str:
    return STRUCTURE_LABELS.get(value, value.replace("_", " "))


@register.filter
def ticker_path(symbol: str) -> str:
    return reverse("web:ticker", args=[symbol])


@register.simple_tag
def signals_path() -> str:
    return SIGNALS_PATH


@register.filter
def percent(value: float | None) -> str:
    """0.2061 -> '20.6%' (volatilities are stored as fractions)."""
    return "" if value is None else f"{value * 100:.1f}%"


@register.filter
def first_line(value: str) -> str:
    return (value or "").split("\n", 1)[0]


@register.filter
def signed_percent(value: float | None) -> str:
    """A return as a fraction -> '+12.3%'; a missing one is a dash."""
    return "–" if value is None else f"{value * 100:+.1f}%".replace("-", "−")


@register.filter
def signed_dollars(value: float | None) -> str:
    """P&L in dollars -> '+1,234.50' / '−12.00'; a missing one is a dash."""
    return "–" if value is None else f"{value:+,.2f}".replace("-", "−")


@register.filter
def per_spread(value: float | None) -> str:
    """A price a share -> dollars for one spread (100 shares)."""
    return "–" if value is None else f"{value * 100:,.2f}"


@register.filter
def trade_flag(flag: str) -> str:
    """A paper trade's flag as words (README "Track record (paper trades)")."""
    return TRADE_FLAGS.get(flag, flag.replace("_", " "))


@register.filter
def exit_reason(reason: str) -> str:
    """A paper trade's exit reason, short (the model's labels spell the rule out)."""
    return EXIT_REASONS.get(reason, reason.replace("_", " "))


@register.filter
def money(value: float | None) -> str:
    """Dollars to the cent, '1,234.50' (floatformat's Decimal arithmetic is slow over long tables)."""
    return "–" if value is None else f"{value:,.2f}"
