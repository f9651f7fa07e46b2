"""The demo's cast: who gets what, seeded idempotently so `make demo` runs again and again."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.addresses import mark_address_verified
from accounts.models import AlertSettings, Subscription, User

ADMIN_EMAIL = "admin@demo.local"
ADMIN_PASSWORD = "demo-admin-password"
SUBSCRIBER_EMAIL = "subscriber@demo.local"
SUBSCRIBER_PASSWORD = "demo-subscriber-password"  # so a newcomer can sign in to the site as a trader
DISCOVERY_EMAIL = "discovery@demo.local"
NOBODY_EMAIL = "nobody@demo.local"


@dataclass(frozen=True)
class DemoCast:
    admin: User
    subscriber: User
    discovery: User
    nobody: User


def seed_demo_users(subscriber_tickers: list[str]) -> DemoCast:
    """Create or refresh the demo users; the subscriber follows exactly `subscriber_tickers`."""
    admin, created = User.objects.get_or_create(email=ADMIN_EMAIL, defaults={"is_staff": True, "is_superuser": True})
    if created or not admin.check_password(ADMIN_PASSWORD):
        admin.set_password(ADMIN_PASSWORD)
        admin.is_staff = admin.is_superuser = True
        admin.save()
    subscriber = _user(SUBSCRIBER_EMAIL, discovery_mode=False)
    if not subscriber.check_password(SUBSCRIBER_PASSWORD):
        subscriber.set_password(SUBSCRIBER_PASSWORD)
        subscriber.save()
    discovery = _user(DISCOVERY_EMAIL, discovery_mode=True)
    nobody = _user(NOBODY_EMAIL, discovery_mode=False)
    wanted = {t.upper() for t in subscriber_tickers}
    Subscription.objects.filter(user=subscriber).exclude(ticker__in=wanted).delete()
    for ticker in sorted(wanted):
        Subscription.objects.get_or_create(user=subscriber, ticker=ticker)
    for person in (admin, subscriber, discovery, nobody):
        mark_address_verified(person)  # the demo's alerts go out: their addresses count as confirmed
    return DemoCast(admin=admin, subscriber=subscriber, discovery=discovery, nobody=nobody)


def _user(email: str, *, discovery_mode: bool) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"discovery_mode": discovery_mode})
    if created:
        user.set_unusable_password()
    user.discovery_mode = discovery_mode
    user.save()
    # The simulated market's rich front months all come from its earnings events: judged ex-earnings
    # (the default) none of them would alert, so the demo users take the raw FF and read the earnings
    # line in each message instead.
    AlertSettings.objects.filter(user=user).update(earnings_policy=AlertSettings.EarningsPolicy.IGNORE)
    return user
