# The abandoned-scan sweeper's beat entry: every 20 seconds, so a scan whose worker died is back in the
# queue within a minute (a lease of SCAN_LOCK_SECONDS to expire, then at most one period). It runs
# around the clock: a dead worker's manual scan is no less lost at night. Operators edit it in admin.

from django.db import migrations

NAME = "scans: re-queue abandoned scans every 20 seconds"


def install(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=20, period="seconds")
    PeriodicTask.objects.create(
        name=NAME,
        task="scanner.tasks.requeue_abandoned_scans",
        interval=every,
        args="[]",
        kwargs="{}",
        expire_seconds=20,
        description="Scans left running by a dead worker (lock lease expired, or silent for SCAN_STALE_SECONDS) "
        "are marked failed and scanned again under a new task.",
        enabled=True,
    )


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0009_scan_heartbeat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
