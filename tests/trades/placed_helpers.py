"""A user's alert to place, its one-click links, and the market clock pinned around its front expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.urls import reverse

from alerts.links import TradeClaim, trade_token
from alerts.models import Alert
from market.clock import set_clock_source
from testing.factories import AS_OF, signal_dict, user
from tests.alerts.test_no_spam import scan_at

# The alert's front expiry is Thu 3 Apr 2025 (AS_OF + 30 days): the session before it is Wed 2 Apr,
# which closes at 16:00 New York (20:00 UTC, daylight time); the expiry day opens at 09:30 (13:30 UTC).
PLACED_AT = AS_OF + timedelta(minutes=5)
EVE = datetime(2025, 4, 2, 19, 0, tzinfo=UTC)  # 15:00 New York
EXPIRY_OPEN = datetime(2025, 4, 3, 13, 30, tzinfo=UTC)


class Clock:
    """The market's clock, pinned and moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        set_clock_source(lambda: self.at)


def an_alert(email: str = "f@x.test") -> Alert:
    """One user's alert of one AAPL 30-60 call calendar (mid debit $1.25, suggested limit $1.27)."""
    person = user(email, follows=("AAPL",))
    alerts = [a for a in scan_at(AS_OF, signal_dict()) if a.user_id == person.pk]
    assert len(alerts) == 1
    return alerts[0]


def placed_path(alert: Alert) -> str:
    return reverse("web:placed_link", args=[trade_token(TradeClaim(alert.user_id, alert.pk))])


def ignore_path(alert: Alert) -> str:
    return reverse("web:ignore_link", args=[trade_token(TradeClaim(alert.user_id, alert.pk))])
