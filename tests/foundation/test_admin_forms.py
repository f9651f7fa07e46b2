"""Every registered admin's add and change forms, submitted with valid and with invalid data: never a 500."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django_celery_beat.models import ClockedSchedule, SolarSchedule

from alerts.models import Message
from discovery.models import UniverseExclusion
from scanner.models import EarningsEvent, Ticker
from scanner.retention import prune_history
from testing.admin_forms import rendered_form
from testing.factories import delivered, saved_signals, signal_dict, universe, user
from tests.foundation.test_admin import READ_ONLY
from trades.opening import open_trades
from trades.placed import place

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)
IDS = [m._meta.label for m in REGISTERED]
PASSWORD = "a-strong-password-123"


@pytest.fixture
def records(db) -> dict:
    """One row of each of our models, and what a valid add of each needs."""
    trader = user("trader@x.test", follows=("AAPL",))
    (signal,) = saved_signals(signal_dict())
    message = delivered(trader, signal, Message.Status.FAILED, ff_bucket=6)
    open_trades([signal])
    place(trader.pk, message.alerts.get().pk, signal, signal.as_of)
    prune_history(signal.as_of + timedelta(days=30), retention_days=14)  # its day's rollups (the signal is kept)
    Ticker.objects.create(symbol="AAPL")
    EarningsEvent.objects.create(ticker="AAPL", date=date(2025, 4, 30))
    snapshot = universe(date(2025, 3, 4), "AAPL")
    UniverseExclusion.objects.create(ticker="OTCX", reason="over the counter")
    Group.objects.create(name="support")
    ClockedSchedule.objects.create(clocked_time=datetime(2025, 3, 4, 15, 0, tzinfo=UTC))
    SolarSchedule.objects.create(event="sunrise", latitude=40.71, longitude=-74.01)
    settingless = user("settingless@x.test")
    settingless.alert_settings.delete()
    return {"trader": trader, "settingless": settingless, "snapshot": snapshot}


def valid_add(label: str, records: dict) -> dict | None:
    """Values that make a valid new row of the model, over what its add page shows (None: not ours)."""
    return {
        "accounts.User": {"email": "new@x.test", "password1": PASSWORD, "password2": PASSWORD},
        "accounts.AlertSettings": {"user": records["settingless"].pk},
        "accounts.Subscription": {"user": records["trader"].pk, "ticker": "msft"},
        "auth.Group": {"name": "operators"},
        "scanner.Ticker": {"symbol": "MSFT"},
        "scanner.EarningsEvent": {"ticker": "MSFT", "date": "2025-04-29"},
        "discovery.UniverseSnapshot": {"session_date": "2025-03-05"},
        "discovery.UniverseMember": {
            "snapshot": records["snapshot"].pk,
            "rank": "2",
            "ticker": "MSFT",
            "volume": "1000000",
            "dollar_volume": "100000000",
        },
        "discovery.UniverseExclusion": {"ticker": "PINKX", "reason": "pink sheets"},
        "django_celery_beat.IntervalSchedule": {"every": "5", "period": "minutes"},
    }.get(label)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def submitted(client, url: str, model) -> dict:
    """The form as the page renders it, as a browser would post it."""
    return rendered_form(client.get(url).content.decode(), f"{model._meta.model_name}_form")


def garbage(form: dict) -> dict:
    return {name: "garbage ☃ <b>" for name in form}


@pytest.mark.parametrize("model", REGISTERED, ids=IDS)
def test_every_add_form_answers_valid_and_invalid_data_without_a_500(admin_client, records, model):
    # given a registered model's add page
    label, url = model._meta.label, admin_url(model, "add")
    if label in READ_ONLY:
        # then a record of what happened cannot be added, neither by page nor by a forged POST
        assert admin_client.get(url).status_code == 403
        assert admin_client.post(url, {}).status_code == 403
        return
    form = submitted(admin_client, url, model)
    # when it is submitted empty, with garbage, and (for our models) with valid values
    answers = [admin_client.post(url, {}), admin_client.post(url, garbage(form))]
    values = valid_add(label, records)
    before = model._default_manager.count()
    answers.append(admin_client.post(url, {**form, **(values or {})}))
    # then nothing is a server error, and the valid values are saved
    assert all(answer.status_code < 500 for answer in answers)
    if values is not None:
        assert answers[-1].status_code == 302, answers[-1].context["errors"] if answers[-1].context else ""
        assert model._default_manager.count() == before + 1


@pytest.mark.parametrize("model", REGISTERED, ids=IDS)
def test_every_change_form_answers_valid_and_invalid_data_without_a_500(admin_client, records, model):
    # given an existing row of a registered model
    row = model._default_manager.order_by("pk").first()
    url = admin_url(model, "change", row.pk)
    assert admin_client.get(url).status_code == 200
    form = submitted(admin_client, url, model)
    # when it is submitted unchanged, empty and with garbage
    unchanged = admin_client.post(url, form)
    invalid = [admin_client.post(url, {}), admin_client.post(url, garbage(form))]
    # then nothing is a server error; a record of what happened is not editable; ours save unchanged
    assert all(answer.status_code < 500 for answer in [unchanged, *invalid])
    if model._meta.label in READ_ONLY:
        assert {unchanged.status_code, *(answer.status_code for answer in invalid)} == {403}
    elif valid_add(model._meta.label, records) is not None:
        assert unchanged.status_code == 302, unchanged.context["errors"] if unchanged.context else ""
