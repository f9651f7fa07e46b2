import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import AlertSettings, Subscription, User
from accounts.validators import TICKER_RE, normalize_ticker, parse_pair, validate_pairs, validate_ticker


@pytest.mark.django_db
def test_new_user_gets_default_alert_settings():
    # when a user signs up
    user = User.objects.create_user("Trader@Example.com", "pw-Secret-42")
    # then the email is the login and the defaults of the product apply
    assert user.email == "trader@example.com"
    settings = AlertSettings.objects.get(user=user)
    assert settings.ff_threshold == 0.20
    assert settings.discovery_threshold == 0.30
    assert settings.pairs == ["30-60", "30-90", "60-90"]
    assert (settings.front_tolerance_days, settings.back_tolerance_days) == (5, 10)
    assert settings.structures() == ["atm_call_calendar", "double_calendar"]
    assert (settings.min_open_interest, settings.min_volume, settings.max_spread_pct) == (100, 10, 8.0)
    assert settings.cooldown_minutes == 120
    assert settings.delivery == AlertSettings.Delivery.INSTANT


@pytest.mark.django_db
def test_subscription_ticker_is_upper_cased_and_unique_per_user():
    # given a user following aapl
    user = User.objects.create_user("t@example.com", "pw-Secret-42")
    Subscription.objects.create(user=user, ticker=" aapl ")
    # then it is stored as AAPL and a second AAPL is refused
    assert Subscription.objects.get(user=user).ticker == "AAPL"
    with pytest.raises(IntegrityError):
        Subscription.objects.create(user=user, ticker="AAPL")


@pytest.mark.django_db
def test_full_clean_accepts_lower_case_and_rejects_junk():
    user = User.objects.create_user("t@example.com", "pw-Secret-42")
    Subscription(user=user, ticker="brk.b").full_clean()
    with pytest.raises(ValidationError, match="is not a ticker"):
        Subscription(user=user, ticker="TOOLONGX").full_clean()


@pytest.mark.django_db
def test_bad_settings_values_are_validation_errors():
    user = User.objects.create_user("t@example.com", "pw-Secret-42")
    settings = user.alert_settings
    settings.pairs = ["60-30"]
    settings.timezone = "Mars/Olympus"
    with pytest.raises(ValidationError) as caught:
        settings.full_clean()
    assert set(caught.value.message_dict) == {"pairs", "timezone"}


@pytest.mark.parametrize("good", ["A", "AAPL", "BRK.B", "GOOGL", "FAKE1"])
def test_valid_tickers(good):
    validate_ticker(good)


@pytest.mark.parametrize("bad", ["", "1ABC", "AAPL!", "TOOLONGX", "BRK.BB", "A A"])
def test_invalid_tickers(bad):
    with pytest.raises(ValidationError):
        validate_ticker(bad)


@given(st.text(max_size=12))
def test_ticker_validation_never_crashes_and_agrees_with_the_pattern(raw):
    value = normalize_ticker(raw)
    try:
        validate_ticker(value)
    except ValidationError:
        assert not TICKER_RE.match(value)
    else:
        assert TICKER_RE.match(value)


def test_pairs_parse_and_reject():
    assert parse_pair("30-60") == (30, 60)
    for bad in (["30-30"], ["abc"], [], "30-60", ["30-60", "30-60"]):
        with pytest.raises(ValidationError):
            validate_pairs(bad)
