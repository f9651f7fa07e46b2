"""`manage.py demo`: the product on embedded defaults, end to end."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.demo_users import ADMIN_EMAIL, ADMIN_PASSWORD, seed_demo_users
from accounts.models import Subscription, User

DEMO_SUBSCRIPTIONS = ["SPY", "AAPL", "TSLA"]


class Command(BaseCommand):
    help = (
        "Seed the demo users (subscriber@demo.local, discovery@demo.local, nobody@demo.local and an "
        "admin) and show what is there. Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        seed_demo_users(DEMO_SUBSCRIPTIONS)
        self.stdout.write(self.style.MIGRATE_HEADING("Forward Factor demo"))
        for user in User.objects.order_by("email"):
            tickers = ", ".join(Subscription.objects.filter(user=user).values_list("ticker", flat=True)) or "-"
            self.stdout.write(
                f"  {user.email:<24} discovery={'on ' if user.discovery_mode else 'off'} follows: {tickers}"
            )
        self.stdout.write(f"Admin: {ADMIN_EMAIL} / {ADMIN_PASSWORD} at http://127.0.0.1:8000/admin/ (make web)")
