# Installs the daily vendor refresh of the optionable underlyings (forwardfactor/schedules.py);
# operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import UNDERLYINGS_SCHEDULE, schedule_migration


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0016_optionable_underlying_vendor_seen"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(UNDERLYINGS_SCHEDULE)]
