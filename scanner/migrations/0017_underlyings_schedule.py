# Installs the daily vendor refresh of the optionable underlyings (forwardfactor/schedules.py);
# operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import UNDERLYINGS_SCHEDULE, install_schedule, uninstall_schedule


def install(apps, schema_editor):
    install_schedule(
        apps.get_model("django_celery_beat", "CrontabSchedule"),
        apps.get_model("django_celery_beat", "PeriodicTask"),
        UNDERLYINGS_SCHEDULE,
    )


def uninstall(apps, schema_editor):
    uninstall_schedule(apps.get_model("django_celery_beat", "PeriodicTask"), UNDERLYINGS_SCHEDULE)


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0016_optionable_underlying_vendor_seen"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
