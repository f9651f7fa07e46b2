# Installs the beat entry of the daily targeted mark; operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import CrontabEntry, schedule_migration

SCHEDULE = (
    CrontabEntry(
        name="trades: mark open paper trades near the close",
        task="trades.mark_open_trades",
        minute="*/5",
        hour="12-15",
        day_of_week="1-5",
        description="Fetches exactly the open paper trades' legs (one filtered chain snapshot per underlying and "
        "expiry), marks the trades, then closes the due ones. The task decides by the market's clock: it works from "
        "TRADES_DAILY_MARK_MINUTES_BEFORE_EXIT before the default exit (15:40 New York on a full session, 12:40 on "
        "an early close) to the close, and a later tick fetches only trades not yet marked in full.",
        expire_seconds=5 * 60,
    ),
)


class Migration(migrations.Migration):

    dependencies = [
        ("trades", "0004_send_reminders_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(SCHEDULE)]
