# Installs the beat entry that closes paper trades at their exit time; operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import CrontabEntry, schedule_migration

SCHEDULE = (
    CrontabEntry(
        name="trades: close paper trades that are due",
        task="trades.close_due_trades",
        minute="*/5",
        hour="9-16",
        day_of_week="1-5",
        description="Closes the paper trades whose exit time has come (by default 15 minutes before the close of "
        "the last session before the front expiry) at their last mark; a run outside a session closes nothing "
        "new that a later run would not.",
        expire_seconds=5 * 60,
    ),
)


class Migration(migrations.Migration):

    dependencies = [
        ("trades", "0001_paper_trades_and_marks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(SCHEDULE)]
