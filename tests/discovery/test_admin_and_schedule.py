"""Operator surfaces: the beat entries installed by migration, the admin's refresh-now and rebuild."""

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts.models import User
from discovery.models import UniverseSnapshot
from forwardfactor.celery import app
from forwardfactor.schedules import DISCOVERY_SCHEDULE, install_schedule

pytestmark = pytest.mark.django_db


def test_migration_installs_the_refreshes_and_the_sweep_in_new_york_time():
    # given a migrated database
    # when the beat entries are read
    tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    # then both refreshes and the sweep are there, on weekdays, in New York time
    before_open = tasks["universe: refresh before the open"]
    after_close = tasks["universe: refresh after the close"]
    sweep = tasks["discovery: sweep every 30 minutes"]
    assert (before_open.task, before_open.crontab.hour, before_open.crontab.minute) == (
        "scanner.tasks.refresh_universe",
        "9",
        "0",
    )
    assert (after_close.task, after_close.crontab.hour, after_close.crontab.minute) == (
        "scanner.tasks.refresh_universe",
        "16",
        "30",
    )
    assert (sweep.task, sweep.crontab.minute, sweep.crontab.hour) == ("scanner.tasks.discovery_sweep", "*/30", "9-16")
    for task in (before_open, after_close, sweep):
        assert str(task.crontab.timezone) == "America/New_York"
        assert task.crontab.day_of_week == "1-5" and task.enabled
    # and every task they name is registered with the Celery app
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks module

    assert {before_open.task, sweep.task} <= set(app.tasks)


def test_installing_again_keeps_an_operators_edits():
    # given an operator moved the morning refresh to 08:30 in admin
    morning = PeriodicTask.objects.get(name="universe: refresh before the open")
    morning.crontab = CrontabSchedule.objects.create(
        minute="30", hour="8", day_of_week="1-5", timezone="America/New_York"
    )
    morning.save()
    # when the schedule is installed again (e.g. a re-run data migration)
    install_schedule(CrontabSchedule, PeriodicTask)
    # then the edit stands and nothing is duplicated
    assert PeriodicTask.objects.get(name="universe: refresh before the open").crontab.hour == "8"
    assert PeriodicTask.objects.filter(name__in=[e.name for e in DISCOVERY_SCHEDULE]).count() == len(DISCOVERY_SCHEDULE)


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("ops@example.com", "a-strong-password-123"))
    return client


def test_refresh_now_builds_the_universe_and_reports_it(operator, vendor, eager_celery):
    # given an operator on the universe changelist, which offers the button
    changelist = reverse("admin:discovery_universesnapshot_changelist")
    assert "Refresh now" in operator.get(changelist).content.decode()
    # when they press it (tasks run in-process here, as on embedded defaults)
    response = operator.post(reverse("admin:discovery_universesnapshot_refresh_now"), follow=True)
    # then the universe of the last completed session is stored and the page says so
    assert response.status_code == 200
    assert "Universe of 2025-06-06: 3 members" in response.content.decode()
    snapshot = UniverseSnapshot.objects.get()
    assert list(snapshot.members.values_list("ticker", flat=True)) == ["SPY", "AAPL", "MSFT"]
    # and the snapshot's page shows its members inline
    page = operator.get(reverse("admin:discovery_universesnapshot_change", args=[snapshot.pk])).content.decode()
    assert "SPY" in page and "MSFT" in page


def test_refresh_now_refuses_a_get(operator):
    # given an operator; when the refresh URL is merely opened
    response = operator.get(reverse("admin:discovery_universesnapshot_refresh_now"))
    # then nothing runs
    assert response.status_code == 405


def test_rebuild_action_reruns_the_selected_session(operator, vendor, eager_celery):
    # given Friday's universe of 3
    operator.post(reverse("admin:discovery_universesnapshot_refresh_now"))
    snapshot = UniverseSnapshot.objects.get()
    # when the operator excludes AAPL and rebuilds Friday with the action
    from discovery.models import UniverseExclusion

    UniverseExclusion.objects.create(ticker="AAPL")
    response = operator.post(
        reverse("admin:discovery_universesnapshot_changelist"),
        {"action": "rebuild_sessions", "_selected_action": [snapshot.pk]},
        follow=True,
    )
    # then Friday's snapshot is rebuilt without AAPL, and the page says it was done, not queued
    assert list(UniverseSnapshot.objects.get().members.values_list("ticker", flat=True)) == ["SPY", "MSFT"]
    assert "Rebuilt the universe of 1 session(s)." in response.content.decode()


def test_refresh_now_with_a_broker_says_it_is_queued(operator, redis_client):
    # given Celery on a real broker
    # when the operator presses "Refresh now"
    response = operator.post(reverse("admin:discovery_universesnapshot_refresh_now"), follow=True)
    # then the refresh waits on the queue and the page says so
    assert "Universe refresh queued" in response.content.decode()
    assert redis_client.llen("scan") == 1
    assert not UniverseSnapshot.objects.exists()
