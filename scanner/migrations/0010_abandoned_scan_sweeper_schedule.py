# The abandoned-scan sweeper's beat entry: every 20 seconds, so a scan whose worker died is back in the
# queue within a minute (a lease of SCAN_LOCK_SECONDS to expire, then at most one period). It runs
# around the clock: a dead worker's manual scan is no less lost at night. Operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import IntervalEntry, schedule_migration

ENTRY = IntervalEntry(
    name="scans: re-queue abandoned scans every 20 seconds",
    task="scanner.tasks.requeue_abandoned_scans",
    every=20,
    period="seconds",
    description="Scans left running by a dead worker (lock lease expired, or silent for SCAN_STALE_SECONDS) "
    "are marked failed and scanned again under a new task.",
    expire_seconds=20,
)


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0009_scan_heartbeat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration([ENTRY])]
