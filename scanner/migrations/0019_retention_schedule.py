# Installs the hourly pruning of old scans and signals (forwardfactor/schedules.py); operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import RETENTION_SCHEDULE, schedule_migration


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0018_signal_and_scan_days"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(RETENTION_SCHEDULE)]
