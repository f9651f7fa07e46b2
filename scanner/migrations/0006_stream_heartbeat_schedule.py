# The stream heartbeat's beat entry: every 10 minutes around the clock, because the task itself checks
# the data source's session clock (the simulated market may hold a session at any wall-clock hour).
# Operators edit or disable it in admin (Periodic tasks).

from django.db import migrations

from forwardfactor.schedules import IntervalEntry, schedule_migration

ENTRY = IntervalEntry(
    name="stream: heartbeat every 10 minutes",
    task="scanner.tasks.stream_heartbeat",
    every=10,
    period="minutes",
    description="Rescans watched tickers not scanned in the last HEARTBEAT_STALE_MINUTES (default 60); "
    "does nothing outside market sessions.",
    expire_seconds=9 * 60,
)


class Migration(migrations.Migration):

    dependencies = [
        ("scanner", "0005_alert_flush_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration([ENTRY])]
