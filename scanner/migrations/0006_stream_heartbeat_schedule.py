# The stream heartbeat's beat entry: every 10 minutes around the clock, because the task itself checks
# the data source's session clock (the simulated market may hold a session at any wall-clock hour).
# Operators edit or disable it in admin (Periodic tasks).

from django.db import migrations

NAME = "stream: heartbeat every 10 minutes"


def install(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.create(
        name=NAME,
        task="scanner.tasks.stream_heartbeat",
        interval=every,
        args="[]",
        kwargs="{}",
        expire_seconds=9 * 60,
        description="Rescans watched tickers not scanned in the last HEARTBEAT_STALE_MINUTES (default 60); "
        "does nothing outside market sessions.",
        enabled=True,
    )


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0005_alert_flush_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
