"""Verified login addresses for users who did not sign up themselves (operators' users, the demo's cast)."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from accounts.models import User


def mark_address_verified(user: User) -> None:
    """Record the user's login address as verified and primary, as if they had confirmed it."""
    EmailAddress.objects.update_or_create(
        user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
    )
