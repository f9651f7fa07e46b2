# Installs the beat entry that sends due digests and re-enqueues alerts whose send task was lost.

from django.db import migrations

from forwardfactor.schedules import CrontabEntry, schedule_migration

ALERT_SCHEDULE = (
    CrontabEntry(
        name="alerts: flush digests and lost sends every minute",
        task="scanner.tasks.flush_held_alerts",
        minute="*",
        hour="*",
        day_of_week="*",
        description="Sends one digest per user whose quiet hours ended or whose daily digest is due, and "
        "re-enqueues alerts left pending or sending longer than ALERT_SEND_LEASE_MINUTES.",
        expire_seconds=55,
    ),
)


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0004_scan_notes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(ALERT_SCHEDULE)]
