"""What the one-click links of an email do: stop alerts (unsubscribe) or follow a discovered ticker.

Both are safe to repeat: a second click changes nothing.
"""

from __future__ import annotations

from accounts.models import Subscription, User
from alerts.links import FollowInvitation, UnsubscribeScope


def apply_unsubscribe(scope: UnsubscribeScope) -> bool:
    """Stop what the scope names; False when the user no longer exists."""
    updated = User.objects.filter(pk=scope.user_id)
    if not updated.exists():
        return False
    if scope.tickers:
        # Deleted one by one so the subscription receivers (watch set) hear about each.
        for subscription in Subscription.objects.filter(user_id=scope.user_id, ticker__in=scope.tickers):
            subscription.delete()
    if scope.discovery:
        updated.update(discovery_mode=False)
    return True


def apply_follow(invitation: FollowInvitation) -> bool:
    """Follow the ticker; False when the user no longer exists or was deactivated."""
    if not User.objects.filter(pk=invitation.user_id, is_active=True).exists():
        return False
    # Saved through the model (not a bulk insert) so the watch set hears about the new ticker.
    Subscription.objects.get_or_create(user_id=invitation.user_id, ticker=invitation.ticker)
    return True
