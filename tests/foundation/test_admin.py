import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Subscription, User

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)
READ_ONLY = {
    "scanner.Scan",
    "scanner.Signal",
    "scanner.ScanDay",
    "scanner.SignalDay",
    "alerts.Alert",
    "alerts.Message",
    "trades.PaperTrade",
    "trades.PlacedTrade",
}  # records of what happened


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
    # then both render, except that records of what happened are not added by hand
    assert changelist.status_code == 200
    assert add.status_code == (403 if opts.label in READ_ONLY else 200)


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


def user_change_form(client, user: User) -> dict:
    from testing.admin_forms import rendered_form

    page = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    return rendered_form(page.content.decode(), "user_form")


def test_a_lower_case_duplicate_subscription_inline_is_a_form_error_not_a_500(admin_client_logged_in):
    # given a user who follows PLTR
    user = User.objects.create_user("trader@example.com", "pw-Secret-42")
    Subscription.objects.create(user=user, ticker="PLTR")
    form = user_change_form(admin_client_logged_in, user)
    # when an operator types "pltr" in the inline's empty row and saves
    form["subscriptions-1-ticker"] = ["pltr"]
    response = admin_client_logged_in.post(reverse("admin:accounts_user_change", args=[user.pk]), form)
    # then the page comes back saying it is a duplicate, and PLTR is followed once
    assert response.status_code == 200
    assert "Please correct the duplicate data for ticker" in response.content.decode()
    assert list(user.subscriptions.values_list("ticker", flat=True)) == ["PLTR"]


def test_a_lower_case_subscription_inline_is_stored_upper_case(admin_client_logged_in):
    # given a user who follows nothing
    user = User.objects.create_user("trader@example.com", "pw-Secret-42")
    form = user_change_form(admin_client_logged_in, user)
    # when an operator types "pltr" in the inline and saves
    form["subscriptions-0-ticker"] = ["pltr"]
    response = admin_client_logged_in.post(reverse("admin:accounts_user_change", args=[user.pk]), form)
    # then the user follows PLTR
    assert response.status_code == 302
    assert list(user.subscriptions.values_list("ticker", flat=True)) == ["PLTR"]


def test_adding_a_user_with_alert_settings_filled_in_keeps_them(admin_client_logged_in):
    from testing.admin_forms import rendered_form

    # given the add-user page, with the alert-settings inline's form added and filled in
    url = reverse("admin:accounts_user_add")
    page = admin_client_logged_in.get(url).content.decode()
    form = rendered_form(page, "user_form")
    template = rendered_form(page.replace("alert_settings-__prefix__-", "alert_settings-0-"), "user_form")
    form.update({name: value for name, value in template.items() if name.startswith("alert_settings-0-")})
    form.update(
        {
            "email": ["new@example.com"],
            "password1": ["a-strong-password-123"],
            "password2": ["a-strong-password-123"],
            "alert_settings-TOTAL_FORMS": ["1"],
            "alert_settings-0-ff_threshold": ["0.35"],
            "alert_settings-0-daily_cap": ["7"],
        }
    )
    # when the operator saves (a new user gets default settings from a post_save receiver first)
    response = admin_client_logged_in.post(url, form)
    # then the user exists with one settings row holding the operator's values
    assert response.status_code == 302
    settings = User.objects.get(email="new@example.com").alert_settings
    assert (settings.ff_threshold, settings.daily_cap) == (0.35, 7)
    from accounts.models import AlertSettings

    assert AlertSettings.objects.filter(user__email="new@example.com").count() == 1


def test_subscriptions_show_whether_the_market_lists_options(admin_client_logged_in):
    from scanner.models import Ticker

    # given a user following a listed name, a name a scan found no options for, and a name never checked
    user = User.objects.create_user("trader@example.com", "pw-Secret-42")
    for ticker in ("AAPL", "NOPE", "NEWCO"):
        Subscription.objects.create(user=user, ticker=ticker)
    Ticker.objects.create(symbol="AAPL", has_options=True)
    Ticker.objects.create(symbol="NOPE", has_options=False)
    # when an operator opens the subscriptions and the user
    listing = admin_client_logged_in.get(reverse("admin:accounts_subscription_changelist")).content.decode()
    inline = admin_client_logged_in.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    # then both say it per ticker
    for page in (listing, inline):
        assert page.count(">no options listed<") == page.count(">listed<") == page.count(">unknown<") == 1
