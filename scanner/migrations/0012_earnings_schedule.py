# Installs the daily earnings refresh (forwardfactor/schedules.py); operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import EARNINGS_SCHEDULE, schedule_migration


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0011_earnings_from_the_vendor"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(EARNINGS_SCHEDULE)]
