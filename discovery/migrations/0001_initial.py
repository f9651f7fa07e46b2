# The discovery models were scanner's until the apps were split: their tables (scanner_*) stay as they
# are, only Django's idea of which app owns them moves (scanner 0008 forgets them on its side).

import accounts.validators
import django.db.models.deletion
from django.db import migrations, models


MOVED = ("universesnapshot", "universemember", "universeexclusion")


def move_content_types(apps, schema_editor):
    """Admin log entries and permissions follow the models to their new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="scanner", model__in=MOVED).update(app_label="discovery")


def reverse_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="discovery", model__in=MOVED).update(app_label="scanner")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('scanner', '0007_alert_created_at_default'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='UniverseExclusion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('ticker', models.CharField(max_length=8, unique=True, validators=[accounts.validators.validate_ticker])),
                        ('reason', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'scanner_universeexclusion',
                        'ordering': ['ticker'],
                    },
                ),
                migrations.CreateModel(
                    name='UniverseSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('session_date', models.DateField(unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('parameters', models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        'db_table': 'scanner_universesnapshot',
                        'ordering': ['-session_date'],
                        'get_latest_by': 'session_date',
                    },
                ),
                migrations.CreateModel(
                    name='UniverseMember',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('rank', models.PositiveIntegerField()),
                        ('ticker', models.CharField(max_length=8)),
                        ('volume', models.FloatField()),
                        ('dollar_volume', models.FloatField()),
                        ('snapshot', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='discovery.universesnapshot')),
                    ],
                    options={
                        'db_table': 'scanner_universemember',
                        'ordering': ['snapshot', 'rank'],
                        'constraints': [models.UniqueConstraint(fields=('snapshot', 'ticker'), name='unique_universe_ticker'), models.UniqueConstraint(fields=('snapshot', 'rank'), name='unique_universe_rank')],
                    },
                ),
            ],
            database_operations=[migrations.RunPython(move_content_types, reverse_content_types)],
        ),
    ]
