"""Every user gets alert settings with the defaults as soon as the user exists."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import AlertSettings, User


@receiver(post_save, sender=User, dispatch_uid="accounts.create_alert_settings")
def create_alert_settings(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        AlertSettings.objects.get_or_create(user=instance)
