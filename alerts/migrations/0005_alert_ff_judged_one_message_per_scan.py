# Two rules the outbox kept by itself become the database's:
#
# * Alert.ff_judged: the FF the user's earnings policy judged (ex-earnings when earnings fall inside the
#   pair's window under ex_earnings, else the signal's FF); cooldowns, FF levels and the order of a message
#   use it. Alerts made before it were judged on their signal's FF, so they get that.
# * One message per user and scan (one_message_per_scan), but for the messages 0002 made one per alert
#   from the alerts of before messages (their Message-IDs start "<alert-"), which may be several per scan.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0004_release_lapsed_sends_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="ff_judged",
            field=models.FloatField(null=True),
        ),
        migrations.RunSQL("UPDATE scanner_alert SET ff_judged = ff", migrations.RunSQL.noop, elidable=True),
        migrations.AlterField(
            model_name="alert",
            name="ff_judged",
            field=models.FloatField(
                help_text="The FF the user's earnings policy judged: ex-earnings when earnings fall inside the "
                "window under ex_earnings, else ff. Cooldowns, FF levels and the order of a message use it."
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="ff",
            field=models.FloatField(help_text="The signal's FF, as the email and the pages show it."),
        ),
        migrations.AlterField(
            model_name="alert",
            name="ff_bucket",
            field=models.IntegerField(help_text="The level of ff_judged (part of the unique key)."),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=~models.Q(message_id__startswith="<alert-"),
                fields=("scan", "user"),
                name="one_message_per_scan",
            ),
        ),
    ]
