# Installs the beat entry that sends the placed trades' exit reminders; operators edit it in admin.

from django.db import migrations

from forwardfactor.schedules import CrontabEntry, schedule_migration

SCHEDULE = (
    CrontabEntry(
        name="trades: send exit reminders of placed trades",
        task="trades.send_reminders",
        minute="*/5",
        hour="9-16",
        day_of_week="1-5",
        description="Sends the reminders of users' placed trades that are due: one hour before the close of the "
        "last session before the front expiry (15:00 New York) and at the open on expiry day. Each goes out once "
        "however often this runs; one not sent by the close of the expiry day is dropped.",
        expire_seconds=5 * 60,
    ),
)


class Migration(migrations.Migration):

    dependencies = [
        ("trades", "0003_placed_trades_and_reminders"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedule_migration(SCHEDULE)]
