# The alerts models were scanner's until the apps were split: their tables (scanner_*) stay as they
# are, only Django's idea of which app owns them moves (scanner 0008 forgets them on its side).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MOVED = ("alert",)


def move_content_types(apps, schema_editor):
    """Admin log entries and permissions follow the models to their new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="scanner", model__in=MOVED).update(app_label="alerts")


def reverse_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="alerts", model__in=MOVED).update(app_label="scanner")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('scanner', '0007_alert_created_at_default'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Alert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('subscription', 'Subscription'), ('discovery', 'Discovery')], max_length=16)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('held', 'Held'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=16)),
                        ('ticker', models.CharField(max_length=8)),
                        ('structure', models.CharField(max_length=24)),
                        ('pair', models.CharField(max_length=9)),
                        ('front_expiry', models.DateField()),
                        ('back_expiry', models.DateField()),
                        ('trading_day', models.DateField()),
                        ('ff_bucket', models.IntegerField()),
                        ('ff', models.FloatField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('send_after', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('claimed_by', models.CharField(blank=True, help_text='The send task that moved it to sending (its retries reuse the claim).', max_length=64)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('error', models.TextField(blank=True)),
                        ('signal', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='scanner.signal')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'scanner_alert',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['ticker', 'created_at'], name='alert_cooldown'), models.Index(fields=['trading_day', 'user'], name='alert_daily_cap'), models.Index(fields=['status', 'send_after'], name='alert_due')],
                        'constraints': [models.UniqueConstraint(fields=('user', 'ticker', 'pair', 'structure', 'front_expiry', 'back_expiry', 'trading_day', 'ff_bucket'), name='unique_alert_key')],
                    },
                ),
            ],
            database_operations=[migrations.RunPython(move_content_types, reverse_content_types)],
        ),
    ]
