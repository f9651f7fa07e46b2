"""Periodic tasks installed by data migrations (the discovery universe, earnings dates), as
django-celery-beat entries.

A data migration installs them once; from then on they live in the database and operators edit,
disable or re-time them in admin (Periodic tasks). The crontabs are in New York time; the tasks
themselves check the NYSE calendar, so a holiday or an early close costs one no-op run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import migrations

NEW_YORK = "America/New_York"


@dataclass(frozen=True)
class CrontabEntry:
    name: str
    task: str
    minute: str
    hour: str
    day_of_week: str
    description: str
    expire_seconds: int


DISCOVERY_SCHEDULE = (
    CrontabEntry(
        name="universe: refresh before the open",
        task="scanner.tasks.refresh_universe",
        minute="0",
        hour="9",
        day_of_week="1-5",
        description="Rebuilds the discovery universe from the last completed session before the 09:30 open.",
        expire_seconds=3600,
    ),
    CrontabEntry(
        name="universe: refresh after the close",
        task="scanner.tasks.refresh_universe",
        minute="30",
        hour="16",
        day_of_week="1-5",
        description="Rebuilds the discovery universe from the session that just closed (kept as is if the "
        "vendor has no data yet; the morning run catches up).",
        expire_seconds=3600,
    ),
    CrontabEntry(
        name="discovery: sweep every 30 minutes",
        task="scanner.tasks.discovery_sweep",
        minute="*/30",
        hour="9-16",
        day_of_week="1-5",
        description="Scans universe members not scanned in the last DISCOVERY_SWEEP_MINUTES; "
        "does nothing outside NYSE sessions.",
        # A sweep that waited longer than this in the queue is superseded by the next one.
        expire_seconds=25 * 60,
    ),
)

EARNINGS_SCHEDULE = (
    CrontabEntry(
        name="earnings: refresh from the vendor",
        task="scanner.tasks.refresh_earnings",
        minute="0",
        hour="8",
        day_of_week="1-5",
        description="Asks the vendor for the earnings dates of every watched ticker (today to 120 days "
        "ahead); a plan without earnings data leaves the imported and admin dates as they are.",
        expire_seconds=3 * 3600,
    ),
)


UNDERLYINGS_SCHEDULE = (
    CrontabEntry(
        name="optionable underlyings: refresh from the vendor",
        task="scanner.tasks.refresh_optionable_underlyings",
        minute="30",
        hour="7",
        day_of_week="*",
        description="Lists every underlying with calls on the next standard monthly expiration (the vendor's "
        "option contracts reference) into the table of tickers traders may follow; a name leaves it only "
        "after OPTIONABLE_UNDERLYINGS_KEEP_DAYS days unlisted.",
        expire_seconds=6 * 3600,
    ),
)

RETENTION_SCHEDULE = (
    CrontabEntry(
        name="history: prune old scans and signals",
        task="scanner.tasks.prune_history",
        minute="50",
        hour="*",
        day_of_week="*",
        description="Rolls scans and signals older than SIGNAL_RETENTION_DAYS up into one row per ticker (x pair "
        "x structure) a day and deletes them, in short batches for at most RETENTION_RUN_SECONDS; a backlog "
        "is worked off over the next runs.",
        # A run that waited this long in the queue is superseded by the next hour's.
        expire_seconds=55 * 60,
    ),
)


def install_schedule(crontab_model, periodic_task_model, entries=DISCOVERY_SCHEDULE) -> None:
    """Create the entries that do not exist yet; an operator's edits to existing ones are kept."""
    for entry in entries:
        if periodic_task_model.objects.filter(name=entry.name).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(
            minute=entry.minute,
            hour=entry.hour,
            day_of_week=entry.day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone=NEW_YORK,
        )
        periodic_task_model.objects.create(
            name=entry.name,
            task=entry.task,
            crontab=crontab,
            args="[]",
            kwargs=json.dumps({}),
            expire_seconds=entry.expire_seconds,
            description=entry.description,
            enabled=True,
        )


def uninstall_schedule(periodic_task_model, entries=DISCOVERY_SCHEDULE) -> None:
    periodic_task_model.objects.filter(name__in=[entry.name for entry in entries]).delete()


@dataclass(frozen=True)
class IntervalEntry:
    """A beat entry that runs every ``every`` ``period`` (seconds, minutes) around the clock."""

    name: str
    task: str
    every: int
    period: str
    description: str
    expire_seconds: int


def schedule_migration(entries: Sequence[CrontabEntry | IntervalEntry]) -> migrations.RunPython:
    """The data-migration operation that installs ``entries`` (kept when they exist: an operator's edits
    stay) and removes them when migrated back."""

    def install(apps, schema_editor) -> None:
        periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
        crontabs = [entry for entry in entries if isinstance(entry, CrontabEntry)]
        install_schedule(apps.get_model("django_celery_beat", "CrontabSchedule"), periodic_task, crontabs)
        interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
        for entry in entries:
            if isinstance(entry, IntervalEntry) and not periodic_task.objects.filter(name=entry.name).exists():
                every, _ = interval_model.objects.get_or_create(every=entry.every, period=entry.period)
                periodic_task.objects.create(
                    name=entry.name,
                    task=entry.task,
                    interval=every,
                    args="[]",
                    kwargs=json.dumps({}),
                    expire_seconds=entry.expire_seconds,
                    description=entry.description,
                    enabled=True,
                )

    def uninstall(apps, schema_editor) -> None:
        uninstall_schedule(apps.get_model("django_celery_beat", "PeriodicTask"), entries)

    return migrations.RunPython(install, uninstall)
