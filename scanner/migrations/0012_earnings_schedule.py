# Installs the daily earnings refresh (forwardfactor/schedules.py); operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import EARNINGS_SCHEDULE, install_schedule, uninstall_schedule


def install(apps, schema_editor):
    install_schedule(
        apps.get_model("django_celery_beat", "CrontabSchedule"),
        apps.get_model("django_celery_beat", "PeriodicTask"),
        EARNINGS_SCHEDULE,
    )


def uninstall(apps, schema_editor):
    uninstall_schedule(apps.get_model("django_celery_beat", "PeriodicTask"), EARNINGS_SCHEDULE)


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0011_earnings_from_the_vendor"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
