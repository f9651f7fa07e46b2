"""A newcomer's path through the site with the test client: sign up, confirm the address from the
email, sign in, follow tickers, change settings, sign out."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Subscription, User
from scanner.models import OptionableUnderlying
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/")


def confirmation_path(message) -> str:
    link = CONFIRM_LINK.search(message.body).group(0)
    return "/" + link.split("/", 3)[3]


def test_sign_up_confirm_sign_in_follow_change_settings_sign_out(client, django_capture_on_commit_callbacks):
    # given a ticker the service knows to list options
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at="2025-03-04T16:00:00Z")

    # when a newcomer signs up
    response = client.post(
        "/accounts/signup/", {"email": "New.Trader@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    # then they are told to check their email, the address is not verified, and one email holds the link
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    newcomer = User.objects.get(email="new.trader@example.com")
    assert not User.objects.with_verified_email().filter(pk=newcomer.pk).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.trader@example.com"]

    # and signing in before confirming is held at the verification step
    client.logout()
    response = client.post("/accounts/login/", {"login": "new.trader@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session

    # when they open the link and confirm (a POST: mail scanners follow links)
    path = confirmation_path(mail.outbox[0])
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    # then the address may receive alerts
    assert User.objects.with_verified_email().filter(pk=newcomer.pk).exists()

    # when they sign in
    response = client.post("/accounts/login/", {"login": "new.trader@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/me/tickers/"

    # and follow a known ticker and an unknown one
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/me/tickers/", {"tickers": "aapl, ZZZZ"})
    # then the known one is followed and the other refused with its reason
    assert response.status_code == 200
    assert list(Subscription.objects.filter(user=newcomer).values_list("ticker", flat=True)) == ["AAPL"]
    page = response.content.decode()
    assert "ZZZZ</strong>: not an optionable US underlying we know" in page

    # when they raise their threshold
    form = client.get("/me/settings/").context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None and name != "pairs"}
    data.update(ff_threshold="0.35", pairs=["30-60", "60-90"], discovery_mode="on")
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post("/me/settings/", data)
    # then it is saved
    assert response.status_code == 302, response.context["form"].errors
    newcomer.refresh_from_db()
    assert newcomer.alert_settings.ff_threshold == 0.35
    assert newcomer.alert_settings.pairs == ["30-60", "60-90"]
    assert newcomer.discovery_mode

    # when they sign out
    response = client.post("/accounts/logout/")
    # then /me/ pages ask them to sign in again
    assert response.status_code == 302
    assert client.get("/me/tickers/")["Location"].startswith("/accounts/login/")


def test_password_reset_sends_a_link_that_sets_a_new_password(client, trader):
    # when a trader asks for a password reset
    response = client.post("/accounts/password/reset/", {"email": trader.email})
    assert response.status_code == 302
    # then an email holds a link that sets a new password
    link = re.search(r"https?://[^\s]+/accounts/password/reset/key/[^\s]+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("/", 3)[3]
    form_page = client.get(path, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else path
    new = "Another-secret-77"
    response = client.post(action, {"password1": new, "password2": new})
    assert response.status_code == 302
    trader.refresh_from_db()
    assert trader.check_password(new)


def test_login_by_emailed_code(client, trader):
    # when a trader asks for a sign-in code
    response = client.post("/accounts/login/code/", {"email": trader.email})
    assert response.status_code == 302
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE).group(1)
    # then the emailed code signs them in
    response = client.post(response["Location"], {"code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(trader.pk)


def test_failed_logins_are_rate_limited(client, trader):
    # given five wrong passwords for the same address
    for _ in range(5):
        client.post("/accounts/login/", {"login": trader.email, "password": "wrong-password"})
    # when the right one follows at once
    response = client.post("/accounts/login/", {"login": trader.email, "password": PASSWORD})
    # then allauth's rate limit refuses it
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()
