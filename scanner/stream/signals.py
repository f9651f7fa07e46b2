"""Subscription saves and deletes announce a watch-set change once their transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts.models import Subscription
from forwardfactor.shared_state import shared_redis
from scanner.stream.watchset import publish_watchset_change


def _announce(added: list[str], removed: list[str]) -> None:
    transaction.on_commit(lambda: publish_watchset_change(shared_redis(), "subscription", added, removed))


def subscription_saved(sender, instance: Subscription, created: bool, raw: bool = False, **kwargs) -> None:
    # Also on updates: an edited ticker changes the set; the consumer recomputes it either way.
    if not raw:
        _announce([instance.ticker], [])


def subscription_deleted(sender, instance: Subscription, **kwargs) -> None:
    _announce([], [instance.ticker])


def connect() -> None:
    post_save.connect(subscription_saved, sender=Subscription, dispatch_uid="stream.subscription_saved")
    post_delete.connect(subscription_deleted, sender=Subscription, dispatch_uid="stream.subscription_deleted")
