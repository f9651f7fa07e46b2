import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Subscription, User

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.fixture
def admin_client_logged_in(client, db):
    superuser = User.objects.create_superuser("root@example.com", "a-strong-password-123")
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", REGISTERED, ids=[m._meta.label for m in REGISTERED])
def test_every_admin_changelist_and_add_page_renders(admin_client_logged_in, model):
    # given a superuser and a model registered in the admin
    opts = model._meta
    # when the changelist and add pages are requested
    changelist = admin_client_logged_in.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    add = admin_client_logged_in.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    # then both render
    assert changelist.status_code == 200
    assert add.status_code == 200


def test_user_change_page_shows_settings_and_subscriptions_inline(admin_client_logged_in):
    # given a user with a subscription
    user = User.objects.create_user("trader@example.com", "pw-Secret-42")
    Subscription.objects.create(user=user, ticker="aapl")
    # when an operator opens the user
    page = admin_client_logged_in.get(reverse("admin:accounts_user_change", args=[user.pk]))
    # then alert settings and subscriptions are edited inline
    assert page.status_code == 200
    body = page.content.decode()
    assert "FF threshold" in body
    assert 'value="AAPL"' in body


def test_bad_ticker_in_admin_is_a_validation_error_not_a_500(admin_client_logged_in):
    # given a user
    user = User.objects.create_user("trader@example.com", "pw-Secret-42")
    # when an operator adds a subscription with a typo
    response = admin_client_logged_in.post(
        reverse("admin:accounts_subscription_add"), {"user": user.pk, "ticker": "AA PL!"}
    )
    # then the form comes back with a clear error and nothing is saved
    assert response.status_code == 200
    assert "is not a ticker" in response.content.decode()
    assert not Subscription.objects.exists()
