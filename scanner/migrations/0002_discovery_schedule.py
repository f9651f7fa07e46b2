# Installs the discovery universe's beat entries (scanner/schedules.py); operators edit them in admin.

from django.db import migrations

from forwardfactor.schedules import DISCOVERY_SCHEDULE, schedule_migration


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(DISCOVERY_SCHEDULE)]
