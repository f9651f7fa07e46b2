# Alert and the universe models moved to the alerts and discovery apps (see their 0001): forget them here,
# keep their tables.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('scanner', '0007_alert_created_at_default'),
        ('alerts', '0001_initial'),
        ('discovery', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='alert',
                    name='signal',
                ),
                migrations.RemoveField(
                    model_name='alert',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='UniverseExclusion',
                ),
                migrations.RemoveField(
                    model_name='universemember',
                    name='snapshot',
                ),
                migrations.DeleteModel(
                    name='Alert',
                ),
                migrations.DeleteModel(
                    name='UniverseMember',
                ),
                migrations.DeleteModel(
                    name='UniverseSnapshot',
                ),
            ],
            database_operations=[],
        ),
    ]
