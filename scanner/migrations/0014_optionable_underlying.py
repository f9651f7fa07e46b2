# The reference table of optionable underlyings (what a trader may follow), seeded from the tickers
# the service already knows to list options.

import accounts.validators
from django.db import migrations, models
from django.utils import timezone


def seed_from_known_tickers(apps, schema_editor):
    # The rule of scanner.underlyings.refresh_optionable_underlyings, on the historical models.
    ticker = apps.get_model("scanner", "Ticker")
    underlying = apps.get_model("scanner", "OptionableUnderlying")
    now = timezone.now()
    listed = ticker.objects.filter(has_options=True).values_list("symbol", flat=True)
    underlying.objects.bulk_create(
        [underlying(symbol=symbol, refreshed_at=now) for symbol in listed], ignore_conflicts=True
    )


class Migration(migrations.Migration):

    dependencies = [
        ('scanner', '0013_scan_term_structure_and_no_pair'),
    ]

    operations = [
        migrations.CreateModel(
            name='OptionableUnderlying',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('symbol', models.CharField(max_length=8, unique=True, validators=[accounts.validators.validate_ticker])),
                ('name', models.CharField(blank=True, max_length=120)),
                ('refreshed_at', models.DateTimeField()),
            ],
            options={
                'verbose_name_plural': 'optionable underlyings',
                'ordering': ['symbol'],
            },
        ),
        migrations.RunPython(seed_from_known_tickers, migrations.RunPython.noop),
    ]
