# Earnings dates from the vendor: when in the day and whether confirmed on each event, and per ticker
# whether the vendor answered. Existing rows keep their source; only the default for new rows is "admin".

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scanner', '0010_abandoned_scan_sweeper_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='earningsevent',
            name='status',
            field=models.CharField(blank=True, choices=[('confirmed', 'confirmed'), ('projected', 'projected'), ('', 'not stated')], help_text='Whether the company confirmed the date.', max_length=10),
        ),
        migrations.AddField(
            model_name='earningsevent',
            name='time_of_day',
            field=models.CharField(choices=[('before_open', 'before the open'), ('during_session', 'during the session'), ('after_close', 'after the close'), ('unknown', 'time not known')], default='unknown', max_length=16),
        ),
        migrations.AddField(
            model_name='ticker',
            name='earnings_answer',
            field=models.CharField(blank=True, choices=[('vendor', 'the vendor answered'), ('not_entitled', 'the plan lacks earnings data')], help_text='What that request got; empty: never asked.', max_length=16),
        ),
        migrations.AddField(
            model_name='ticker',
            name='earnings_checked_at',
            field=models.DateTimeField(blank=True, help_text="When the vendor was last asked for this ticker's earnings dates (by the market's clock).", null=True),
        ),
        migrations.AlterField(
            model_name='earningsevent',
            name='source',
            field=models.CharField(blank=True, default='admin', help_text='"vendor", "admin", or the import\'s label (e.g. csv).', max_length=40),
        ),
    ]
