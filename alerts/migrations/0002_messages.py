# Delivery moves from the Alert to the new Message (one per user, ticker and scan). Each existing alert
# gets a message of its own carrying its state, and the Message-ID it was (or will be) sent with, so a
# send that was queued or in flight at the upgrade goes out once, as it would have.

import django.db.models.deletion
import django.utils.timezone
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations, models

import alerts.models

STATE = ("status", "send_after", "sent_at", "attempts", "claimed_by", "claimed_at", "error")
BATCH = 2000


def _domain() -> str:
    # As the mailer computed it when these alerts were sent one by one.
    return (
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"
    )


def alerts_to_messages(apps, schema_editor):
    Alert = apps.get_model("alerts", "Alert")
    Message = apps.get_model("alerts", "Message")
    domain = _domain()
    pending = Alert.objects.filter(message__isnull=True).select_related("signal").order_by("pk")
    while batch := list(pending[:BATCH]):
        messages = Message.objects.bulk_create(
            [
                Message(
                    user_id=alert.user_id,
                    ticker=alert.ticker,
                    scan_id=alert.signal.scan_id,
                    kind=alert.kind,
                    trading_day=alert.trading_day,
                    created_at=alert.created_at,
                    message_id=f"<alert-{alert.pk}.{alert.created_at:%Y%m%d%H%M%S%f}@{domain}>",
                    **{name: getattr(alert, name) for name in STATE},
                )
                for alert in batch
            ]
        )
        for alert, message in zip(batch, messages):
            alert.message_id = message.pk
        Alert.objects.bulk_update(batch, ["message"])


def messages_to_alerts(apps, schema_editor):
    Alert = apps.get_model("alerts", "Alert")
    alerts = Alert.objects.select_related("message").order_by("pk")
    for start in range(0, alerts.count(), BATCH):
        batch = list(alerts[start : start + BATCH])
        for alert in batch:
            for name in STATE:
                setattr(alert, name, getattr(alert.message, name))
        Alert.objects.bulk_update(batch, list(STATE))


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0001_initial'),
        ('scanner', '0008_move_alerts_and_universe_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Message',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ticker', models.CharField(max_length=8)),
                ('kind', models.CharField(choices=[('subscription', 'Subscription'), ('discovery', 'Discovery')], max_length=16)),
                ('trading_day', models.DateField()),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('held', 'Held'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='pending', max_length=16)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('send_after', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('claimed_by', models.CharField(blank=True, help_text='The send task that moved it to sending (its retries reuse the claim).', max_length=64)),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('message_id', models.CharField(default=alerts.models.new_message_id, max_length=200, unique=True, verbose_name='Message-ID')),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='scanner.scan')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['trading_day', 'user'], name='message_daily_cap'), models.Index(fields=['status', 'send_after'], name='message_due'), models.Index(fields=['status', 'created_at'], name='message_stale')],
            },
        ),
        migrations.AddField(
            model_name='alert',
            name='message',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='alerts.message'),
        ),
        migrations.RunPython(alerts_to_messages, messages_to_alerts),
        migrations.AlterField(
            model_name='alert',
            name='message',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='alerts.message'),
        ),
        migrations.RemoveIndex(model_name='alert', name='alert_daily_cap'),
        migrations.RemoveIndex(model_name='alert', name='alert_due'),
        migrations.RemoveField(model_name='alert', name='status'),
        migrations.RemoveField(model_name='alert', name='send_after'),
        migrations.RemoveField(model_name='alert', name='sent_at'),
        migrations.RemoveField(model_name='alert', name='attempts'),
        migrations.RemoveField(model_name='alert', name='claimed_by'),
        migrations.RemoveField(model_name='alert', name='claimed_at'),
        migrations.RemoveField(model_name='alert', name='error'),
    ]
