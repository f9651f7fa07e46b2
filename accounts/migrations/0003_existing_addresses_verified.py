# Users an operator created before sign-up existed count as verified: each gets its login address as
# allauth's verified, primary EmailAddress (nothing is sent to them).

from django.db import migrations


def mark_existing_addresses_verified(apps, schema_editor):
    user = apps.get_model("accounts", "User")
    email_address = apps.get_model("account", "EmailAddress")
    known = set(email_address.objects.values_list("user_id", flat=True))
    email_address.objects.bulk_create(
        [
            email_address(user_id=pk, email=email.lower(), verified=True, primary=True)
            for pk, email in user.objects.values_list("pk", "email")
            if pk not in known
        ]
    )


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_spread_cost_and_earnings_policy"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.RunPython(mark_existing_addresses_verified, migrations.RunPython.noop),
    ]
