# The beat entry that releases messages whose send task died: every 20 seconds, so with a send lease of
# ALERT_SEND_LEASE_SECONDS (30) a dead worker's messages are queued again within a minute. It runs
# around the clock, like the abandoned-scan sweeper. Operators edit it in admin.

from django.db import migrations

NAME = "alerts: release messages of dead send tasks every 20 seconds"


def install(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=20, period="seconds")
    PeriodicTask.objects.create(
        name=NAME,
        task="alerts.release_lapsed_sends",
        interval=every,
        args="[]",
        kwargs="{}",
        expire_seconds=20,
        description="Messages left sending by a dead send task (its lease, renewed while it lives, lapsed) go "
        "back to pending and are queued again; a re-send checks the SMTP receipts and keeps its Message-ID.",
        enabled=True,
    )


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0003_message_lease_until"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
