"""The site's pages with the test client: what they show, whose rows they touch, what they refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Subscription
from alerts.models import Alert, Message
from scanner.models import OptionableUnderlying, Scan, Signal
from testing.factories import saved_signals, signal_dict, user

pytestmark = pytest.mark.django_db


def known(*symbols: str) -> None:
    OptionableUnderlying.objects.bulk_create(
        [OptionableUnderlying(symbol=s, refreshed_at=timezone.now()) for s in symbols]
    )


def alerts_of(person, signal: Signal, count: int) -> list[Alert]:
    """``count`` alerts of the signal for ``person``, each delivered by a message of its own, each
    message of a scan of its own (a user has one message per scan): as if each scan re-found it."""
    scan = signal.scan
    scans = Scan.objects.bulk_create(
        [
            Scan(ticker=scan.ticker, reason=scan.reason, outcome=scan.outcome, started_at=scan.started_at)
            for _ in range(count)
        ]
    )
    messages = Message.objects.bulk_create(
        [
            Message(
                user=person,
                ticker=signal.ticker,
                scan=scans[i],
                kind=Message.Kind.SUBSCRIPTION,
                trading_day=signal.as_of.date(),
                status=Message.Status.SENT,
                created_at=signal.as_of + timedelta(seconds=i),
                sent_at=signal.as_of + timedelta(seconds=i + 1),
            )
            for i in range(count)
        ]
    )
    return Alert.objects.bulk_create(
        [
            Alert(
                user=person,
                signal=signal,
                message=message,
                kind=Alert.Kind.SUBSCRIPTION,
                ticker=signal.ticker,
                structure=signal.structure,
                pair=signal.pair,
                front_expiry=signal.front_expiry,
                back_expiry=signal.back_expiry,
                trading_day=signal.as_of.date(),
                ff_bucket=i,
                ff=signal.ff,
                ff_judged=signal.ff,
                created_at=signal.as_of + timedelta(seconds=i),
            )
            for i, message in enumerate(messages)
        ]
    )


# --- / ------------------------------------------------------------------------------------------


def test_home_previews_liquid_signals_older_than_fifteen_minutes_strongest_per_ticker_first(client):
    # given signals: fresh, illiquid, old enough at several strengths, and one ticker seen twice
    now = timezone.now()
    older = now - timedelta(minutes=20)
    saved_signals(signal_dict("FRESH", ff=0.9, as_of=now - timedelta(minutes=5)))
    saved_signals(signal_dict("THIN", ff=0.8, open_interest=1, as_of=older))
    saved_signals(signal_dict("AAPL", ff=0.40, as_of=older), signal_dict("AAPL", pair="60-90", ff=0.45, as_of=older))
    saved_signals(signal_dict("MSFT", ff=0.30, as_of=older))
    Signal.objects.filter(ticker="THIN").update(passes_liquidity=False)
    # when anyone opens the home page
    response = client.get("/")
    # then the preview lists the liquid, delayed ones, one row per ticker, strongest first
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(s.ticker, s.pair) for s in preview] == [("AAPL", "60-90"), ("MSFT", "30-60")]
    assert 'href="/tickers/AAPL/"' in response.content.decode()


def test_home_lists_at_most_ten_tickers_with_a_constant_number_of_queries(client, django_assert_max_num_queries):
    older = timezone.now() - timedelta(minutes=30)
    # given three tickers with signals
    for i in range(3):
        saved_signals(signal_dict(f"T{i}", ff=0.2 + i / 100, as_of=older))
    # then the page costs one query
    with django_assert_max_num_queries(1):
        assert len(client.get("/").context["preview"]) == 3
    # and with 30 tickers still one, showing ten
    for i in range(3, 30):
        saved_signals(signal_dict(f"T{i}", ff=0.2 + i / 100, as_of=older))
    with django_assert_max_num_queries(1):
        preview = client.get("/").context["preview"]
    assert len(preview) == 10 and preview[0].ticker == "T29"


# --- /me/ requires a signed-in user -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me/tickers/", "/me/settings/", "/me/alerts/"])
def test_me_pages_send_anonymous_visitors_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={path}"


# --- /me/tickers/ -------------------------------------------------------------------------------


def test_follow_a_pasted_list_refuses_each_bad_symbol_with_its_reason(trader_client, trader):
    # given known optionable underlyings, one already followed
    known("AAPL", "MSFT", "TSLA")
    Subscription.objects.create(user=trader, ticker="TSLA")
    # when the trader pastes a list with a malformed and an unknown symbol
    response = trader_client.post("/me/tickers/", {"tickers": "AAPL, msft tsla\nBAD$ NOPE aapl"})
    # then the good ones are followed once, and each refusal says why
    assert sorted(Subscription.objects.filter(user=trader).values_list("ticker", flat=True)) == ["AAPL", "MSFT", "TSLA"]
    outcome = response.context["outcome"]
    assert outcome.followed == ["AAPL", "MSFT"] and outcome.already == ["TSLA"]
    reasons = {refusal.symbol: refusal.reason for refusal in outcome.refused}
    assert reasons["BAD$"].startswith("'BAD$' is not a ticker")
    assert reasons["NOPE"].startswith("not an optionable US underlying we know")
    # and the form keeps the refused symbols for a correction
    assert response.context["form"].initial["tickers"] == "BAD$ NOPE"


def test_follow_only_good_symbols_redirects_with_a_message(trader_client, trader):
    known("AAPL")
    response = trader_client.post("/me/tickers/", {"tickers": "aapl"}, follow=True)
    assert response.redirect_chain == [("/me/tickers/", 302)]
    assert "Now following AAPL." in response.content.decode()


@pytest.mark.parametrize(
    "text, error",
    [("  , ", "Give at least one ticker symbol."), (" ".join(f"A{i}" for i in range(51)), "At most 50 tickers")],
)
def test_follow_form_refuses_empty_and_too_long_lists(trader_client, text, error):
    response = trader_client.post("/me/tickers/", {"tickers": text})
    assert response.status_code == 200
    assert error in str(response.context["form"].errors)
    assert not Subscription.objects.exists()


def test_unfollow_removes_the_trader_s_own_subscription(trader_client, trader):
    subscription = Subscription.objects.create(user=trader, ticker="AAPL")
    response = trader_client.post(f"/me/tickers/{subscription.pk}/unfollow/")
    assert response.status_code == 302
    assert not Subscription.objects.filter(pk=subscription.pk).exists()


def test_unfollow_is_a_post(trader_client, trader):
    subscription = Subscription.objects.create(user=trader, ticker="AAPL")
    assert trader_client.get(f"/me/tickers/{subscription.pk}/unfollow/").status_code == 405
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_another_user_s_rows_are_404_and_untouched(trader_client, trader):
    # given another user's subscription and alert
    other = user("other@example.com", follows=("MSFT",))
    theirs = Subscription.objects.get(user=other)
    (signal,) = saved_signals(signal_dict("MSFT"))
    alerts_of(other, signal, 1)
    # when the trader tries to unfollow it by id
    response = trader_client.post(f"/me/tickers/{theirs.pk}/unfollow/")
    # then it is not found, and still there
    assert response.status_code == 404
    assert Subscription.objects.filter(pk=theirs.pk).exists()
    # and the trader's pages never show the other's rows
    assert list(trader_client.get("/me/tickers/").context["subscriptions"]) == []
    assert list(trader_client.get("/me/alerts/").context["page"].object_list) == []


def test_forms_refuse_a_post_without_the_csrf_token(trader):
    # given a browser-like client that checks CSRF tokens
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    known("AAPL")
    subscription = Subscription.objects.create(user=trader, ticker="MSFT")
    # when forms are posted without the token, then each is refused and nothing changes
    assert client.post("/me/tickers/", {"tickers": "AAPL"}).status_code == 403
    assert client.post(f"/me/tickers/{subscription.pk}/unfollow/").status_code == 403
    assert client.post("/me/settings/", {"ff_threshold": "0.5"}).status_code == 403
    assert client.post("/accounts/logout/").status_code == 403
    assert list(Subscription.objects.values_list("ticker", flat=True)) == ["MSFT"]


# --- /me/settings/ ------------------------------------------------------------------------------


def settings_post(client, **changes) -> dict:
    """The settings form as the page renders it (checked boxes sent, unchecked left out), then changed."""
    form = client.get("/me/settings/").context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def test_settings_page_offers_every_setting(trader_client):
    form = trader_client.get("/me/settings/").context["form"]
    model_fields = {f.name for f in form._meta.model._meta.get_fields() if f.concrete and f.name not in ("id", "user")}
    assert model_fields | {"discovery_mode"} == set(form.fields)
    shown = {field.name for _, fields in form.sections() for field in fields}
    assert shown == set(form.fields)
    # time zones: US first, every zone offered
    groups = form.fields["timezone"].choices
    assert groups[0][0] == "United States" and groups[0][1][0] == ("America/New_York", "America/New_York")


def test_settings_save_every_kind_of_field(trader_client, trader):
    data = settings_post(
        trader_client,
        ff_threshold="0.25",
        pairs=["30-90"],
        double_calendar=None,
        min_open_interest="250",
        quiet_hours_start="22:00",
        quiet_hours_end="07:00",
        timezone="Europe/Paris",
        delivery="daily_digest",
        daily_cap="5",
        cooldown_minutes="60",
    )
    response = trader_client.post("/me/settings/", data)
    assert response.status_code == 302
    saved = type(trader.alert_settings).objects.get(user=trader)
    assert (saved.ff_threshold, saved.pairs, saved.double_calendar, saved.min_open_interest) == (
        0.25,
        ["30-90"],
        False,
        250,
    )
    assert (saved.quiet_hours_start.isoformat(), saved.quiet_hours_end.isoformat()) == ("22:00:00", "07:00:00")
    assert (saved.timezone, saved.delivery, saved.daily_cap, saved.cooldown_minutes) == (
        "Europe/Paris",
        "daily_digest",
        5,
        60,
    )


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"ff_threshold": "11"}, "ff_threshold", "less than or equal to 10"),
        ({"ff_threshold": "-0.1"}, "ff_threshold", "greater than or equal to 0"),
        ({"pairs": None}, "pairs", "This field is required"),
        ({"pairs": ["45-90"]}, "pairs", "not one of the available choices"),
        ({"timezone": "Mars/Olympus"}, "timezone", "not one of the available choices"),
        ({"front_tolerance_days": "31"}, "front_tolerance_days", "less than or equal to 30"),
        ({"consecutive_scans": "0"}, "consecutive_scans", "greater than or equal to 1"),
        ({"max_spread_pct": "150"}, "max_spread_pct", "less than or equal to 100"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": None}, "__all__", "as a pair"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "__all__", "same time"),
        ({"delivery": "carrier_pigeon"}, "delivery", "not one of the available choices"),
    ],
)
def test_settings_refuse_what_the_model_refuses(trader_client, trader, changes, field, message):
    before = type(trader.alert_settings).objects.get(user=trader).ff_threshold
    response = trader_client.post("/me/settings/", settings_post(trader_client, **changes))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert type(trader.alert_settings).objects.get(user=trader).ff_threshold == before


def test_settings_keep_a_pair_set_in_the_admin(trader_client, trader):
    trader.alert_settings.pairs = ["30-60", "45-120"]
    trader.alert_settings.save()
    response = trader_client.post("/me/settings/", settings_post(trader_client))
    assert response.status_code == 302
    trader.alert_settings.refresh_from_db()
    assert trader.alert_settings.pairs == ["30-60", "45-120"]


# --- /me/alerts/ --------------------------------------------------------------------------------


def test_alerts_page_lists_the_trader_s_alerts_newest_first_with_links(trader_client, trader):
    (signal,) = saved_signals(signal_dict("AAPL", ff=0.31, as_of=datetime(2025, 3, 4, 16, 0, tzinfo=UTC)))
    alerts_of(trader, signal, 2)
    response = trader_client.get("/me/alerts/")
    page = response.content.decode()
    rows = list(response.context["page"].object_list)
    assert [a.ff_bucket for a in rows] == [1, 0]
    assert 'href="/tickers/AAPL/"' in page
    assert "2025-03-04 11:00 EST" in page and "Sent" in page and "0.31" in page


def test_alerts_page_is_paginated_with_a_constant_number_of_queries(
    trader_client, trader, django_assert_max_num_queries
):
    (signal,) = saved_signals(signal_dict("AAPL"))
    alerts_of(trader, signal, 3)
    with django_assert_max_num_queries(4) as few:
        trader_client.get("/me/alerts/")
    Alert.objects.all().delete()
    alerts_of(trader, signal, 120)
    with django_assert_max_num_queries(len(few)):
        response = trader_client.get("/me/alerts/?page=2")
    assert response.context["page"].number == 2 and len(response.context["page"].object_list) == 50
    assert trader_client.get("/me/alerts/?page=99").context["page"].number == 3


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_pages_carry_a_content_security_policy_without_inline_code(client, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page = response.content.decode()
    assert "<script>" not in page and "style=" not in page and "<style" not in page


def test_the_stylesheet_is_served_without_collectstatic(client):
    response = client.get("/static/web/site.css")
    assert response.status_code == 200
