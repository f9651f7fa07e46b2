# The daily rollups that outlive pruned scans and signals, and how far pruning has gone (scanner.retention).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scanner', '0017_underlyings_schedule'),
    ]

    operations = [
        migrations.CreateModel(
            name='RetentionProgress',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('through_scan_id', models.BigIntegerField(default=0)),
                ('updated_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name_plural': 'retention progress',
            },
        ),
        migrations.CreateModel(
            name='ScanDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ticker', models.CharField(max_length=8)),
                ('day', models.DateField()),
                ('scans', models.PositiveIntegerField()),
                ('outcomes', models.JSONField(default=dict, help_text='Scans by outcome, e.g. {"ok": 28, "failed": 1}.')),
                ('reasons', models.JSONField(default=dict, help_text='Scans by reason, e.g. {"move": 20, "heartbeat": 9}.')),
                ('requests', models.PositiveIntegerField(default=0, help_text="Vendor requests of the day's scans.")),
                ('contracts', models.PositiveIntegerField(default=0)),
                ('alerts', models.PositiveIntegerField(default=0)),
                ('first_started_at', models.DateTimeField()),
                ('last_started_at', models.DateTimeField()),
                ('last_price', models.FloatField(blank=True, help_text="The underlying's price at the day's last priced scan.", null=True)),
                ('last_price_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-day', 'ticker'],
                'constraints': [models.UniqueConstraint(fields=('ticker', 'day'), name='one_scan_day')],
            },
        ),
        migrations.CreateModel(
            name='SignalDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ticker', models.CharField(max_length=8)),
                ('pair', models.CharField(max_length=9)),
                ('structure', models.CharField(max_length=24)),
                ('day', models.DateField(help_text="The New York date of the signals' market data.")),
                ('signals', models.PositiveIntegerField(help_text='Signals of the day rolled up into this row.')),
                ('passing', models.PositiveIntegerField(help_text="Of them, those whose legs passed the engine's liquidity floors.")),
                ('first_as_of', models.DateTimeField()),
                ('last_as_of', models.DateTimeField()),
                ('ff_last', models.FloatField(blank=True, null=True)),
                ('ff_min', models.FloatField(blank=True, null=True)),
                ('ff_max', models.FloatField(blank=True, null=True)),
                ('ff_ex_earnings_last', models.FloatField(blank=True, null=True)),
                ('front_expiry', models.DateField(help_text="The last signal's.")),
                ('back_expiry', models.DateField(help_text="The last signal's.")),
                ('strike', models.FloatField(blank=True, help_text="The last signal's (the call strike).", null=True)),
                ('front_iv', models.FloatField(blank=True, null=True)),
                ('back_iv', models.FloatField(blank=True, null=True)),
                ('forward_iv', models.FloatField(blank=True, null=True)),
                ('spread_cost_pct', models.FloatField(blank=True, null=True)),
                ('underlying_price', models.FloatField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-day', 'ticker', 'pair', 'structure'],
                'indexes': [models.Index(fields=['ticker', 'last_as_of'], name='signal_day_history')],
                'constraints': [models.UniqueConstraint(fields=('ticker', 'pair', 'structure', 'day'), name='one_signal_day')],
            },
        ),
    ]
