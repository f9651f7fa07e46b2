# The beat entry that releases messages whose send task died: every 20 seconds, so with a send lease of
# ALERT_SEND_LEASE_SECONDS (30) a dead worker's messages are queued again within a minute. It runs
# around the clock, like the abandoned-scan sweeper. Operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import IntervalEntry, schedule_migration

ENTRY = IntervalEntry(
    name="alerts: release messages of dead send tasks every 20 seconds",
    task="alerts.release_lapsed_sends",
    every=20,
    period="seconds",
    description="Messages left sending by a dead send task (its lease, renewed while it lives, lapsed) go "
    "back to pending and are queued again; a re-send checks the SMTP receipts and keeps its Message-ID.",
    expire_seconds=20,
)


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0003_message_lease_until"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration([ENTRY])]
