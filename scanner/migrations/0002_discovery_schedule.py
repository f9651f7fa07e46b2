# Installs the discovery universe's beat entries (scanner/schedules.py); operators edit them in admin.

from django.db import migrations

from forwardfactor.schedules import install_schedule, uninstall_schedule


def install(apps, schema_editor):
    install_schedule(apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask"))


def uninstall(apps, schema_editor):
    uninstall_schedule(apps.get_model("django_celery_beat", "PeriodicTask"))


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
