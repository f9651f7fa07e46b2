"""A PostgreSQL database at the migration head before the app split (scanner 0007, no alerts or
discovery app) migrates forward, and back, with every row intact.

The tests drive Django's MigrationExecutor on the test database and send post_migrate after each step,
as `manage.py migrate` does (it is what creates content types and permissions for new models). Rows are
written with the historical models of the state they are written in, with fixed dates.
"""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from forwardfactor.schedules import EARNINGS_SCHEDULE, RETENTION_SCHEDULE, UNDERLYINGS_SCHEDULE

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

OLD_SCANNER = ("scanner", "0007_alert_created_at_default")
# Migrating to these unapplies scanner 0008 and the alerts and discovery apps' migrations (and the
# apps added after the split, which depend on the scanner's later migrations).
LATER_APPS = ("trades",)
OLD_TARGETS = [OLD_SCANNER, ("alerts", None), ("discovery", None), *((app, None) for app in LATER_APPS)]

MOVED = {"alerts": ("alert",), "discovery": ("universesnapshot", "universemember", "universeexclusion")}
MOVED_MODELS = [model for models in MOVED.values() for model in models]

# Every table of ours, plus the rows of Django's and django-celery-beat's that point at them or name our tasks.
TABLES = [
    "accounts_user",
    "accounts_alertsettings",
    "accounts_subscription",
    "accounts_user_user_permissions",
    "scanner_ticker",
    "scanner_earningsevent",
    "scanner_scan",
    "scanner_signal",
    "scanner_alert",
    "scanner_universesnapshot",
    "scanner_universemember",
    "scanner_universeexclusion",
    "django_admin_log",
    "auth_permission",
    "django_celery_beat_periodictask",
    "django_celery_beat_crontabschedule",
    "django_celery_beat_intervalschedule",
]

# The alert's delivery columns moved to alerts_message (alerts 0002): its row is compared field by field.
STABLE_TABLES = [table for table in TABLES if table != "scanner_alert"]
DELIVERY = {
    "status": "held",
    "send_after": datetime.datetime(2024, 3, 15, 22, 30, tzinfo=datetime.UTC),
    "claimed_by": "task-1",
    "claimed_at": datetime.datetime(2024, 3, 15, 14, 30, tzinfo=datetime.UTC),
}

UTC = datetime.UTC
DAY = datetime.date(2024, 3, 15)
AT = datetime.datetime(2024, 3, 15, 14, 30, tzinfo=UTC)
FRONT = datetime.date(2024, 4, 19)
BACK = datetime.date(2024, 5, 17)

# The data migrations that install beat entries (idempotent): run again so a flush by an earlier
# transactional test does not leave the table empty.
SCHEDULE_MIGRATIONS = (
    "scanner.migrations.0002_discovery_schedule",
    "scanner.migrations.0005_alert_flush_schedule",
    "scanner.migrations.0006_stream_heartbeat_schedule",
    "scanner.migrations.0012_earnings_schedule",
    "scanner.migrations.0017_underlyings_schedule",
    "scanner.migrations.0019_retention_schedule",
)
# Installed by migrations after the old head: going back removes them, forward installs them anew.
LATER_SCHEDULES = {entry.name for entry in (*EARNINGS_SCHEDULE, *UNDERLYINGS_SCHEDULE, *RETENTION_SCHEDULE)} | {
    "scans: re-queue abandoned scans every 20 seconds",
    "alerts: release messages of dead send tasks every 20 seconds",
    "trades: close paper trades that are due",
    "trades: send exit reminders of placed trades",
    "trades: mark open paper trades near the close",
}
# Crontabs (minute, hour) that only those later entries use.
LATER_CRONTABS = {("*/5", "9-16"), ("*/5", "12-15"), ("50", "*")}


def old_nodes(loader) -> list[tuple[str, str]]:
    """The leaf migrations of the old head: today's leaves without scanner 0008, alerts and discovery."""
    nodes = [node for node in loader.graph.leaf_nodes() if node[0] not in ("scanner", *MOVED, *LATER_APPS)]
    return [*nodes, OLD_SCANNER]


def migrate(targets, state_nodes=None):
    """Migrate the test database to targets, then send post_migrate as `manage.py migrate` does.

    Returns the apps of the state reached (state_nodes: its leaf migrations; None: the latest)."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    state_apps = executor.loader.project_state(state_nodes).apps
    emit_post_migrate_signal(0, False, connection.alias, apps=state_apps)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    return state_apps


def migrate_to_old_head():
    loader = MigrationExecutor(connection).loader
    return migrate(OLD_TARGETS, old_nodes(loader))


def migrate_to_latest():
    loader = MigrationExecutor(connection).loader
    return migrate(loader.graph.leaf_nodes())


@pytest.fixture
def migrations(postgres, transactional_db):
    """The database is left at the latest migrations whatever happens in the test."""
    try:
        yield
    finally:
        migrate_to_latest()


def added_after_the_old_head(record: dict) -> bool:
    """Beat entries (and the sweeper's 20-second interval) that migrations after the split install."""
    if record.get("name") in LATER_SCHEDULES or (record.get("minute"), record.get("hour")) in LATER_CRONTABS:
        return True
    return record.get("every") == 20 and record.get("period") == "seconds"


def rows(tables=TABLES) -> dict[str, list[dict]]:
    """Every row of the tables as a column -> value dict, but for beat entries newer than the old head."""
    with connection.cursor() as cursor:
        result = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')
            columns = [column.name for column in cursor.description]
            records = [dict(zip(columns, row)) for row in cursor.fetchall()]
            result[table] = [record for record in records if not added_after_the_old_head(record)]
        return result


def in_columns_of(current: dict[str, list[dict]], reference: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``current``'s rows in the columns ``reference``'s rows have: migrations after the old head add columns."""
    shaped = {}
    for table, records in current.items():
        columns = next(iter(reference[table]), {}).keys()
        shaped[table] = [{column: record[column] for column in columns if column in record} for record in records]
    return shaped


def content_types() -> dict[int, tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label, model FROM django_content_type ORDER BY id")
        return {pk: (app_label, model) for pk, app_label, model in cursor.fetchall()}


def seed(apps, *, alert_app: str, universe_app: str) -> dict[str, int]:
    """One row in every table of ours (with apps' models), an admin log entry on the alert and the
    member, a permission on alerts granted to the user, and the beat entries."""
    get = apps.get_model
    ContentType = get("contenttypes", "ContentType")
    Permission = get("auth", "Permission")
    LogEntry = get("admin", "LogEntry")
    User = get("accounts", "User")
    Alert = get(alert_app, "Alert")
    UniverseSnapshot = get(universe_app, "UniverseSnapshot")
    UniverseMember = get(universe_app, "UniverseMember")
    UniverseExclusion = get(universe_app, "UniverseExclusion")

    user = User.objects.create(email="trader@example.com", password="!unusable", date_joined=AT, last_login=AT)
    admin_user = User.objects.create(
        email="root@example.com", password="!unusable", is_staff=True, is_superuser=True, date_joined=AT
    )
    get("accounts", "AlertSettings").objects.create(
        user=user, pairs=["30-60"], quiet_hours_start=datetime.time(22), quiet_hours_end=datetime.time(7)
    )
    subscription = get("accounts", "Subscription").objects.create(user=user, ticker="AAPL")
    get("accounts", "Subscription").objects.filter(pk=subscription.pk).update(created_at=AT)
    get("scanner", "Ticker").objects.create(symbol="AAPL", last_scan_at=AT, last_scan_price=172.5, has_options=True)
    get("scanner", "EarningsEvent").objects.create(ticker="AAPL", date=datetime.date(2024, 5, 2), source="test")
    scan = get("scanner", "Scan").objects.create(
        ticker="AAPL", reason="manual", outcome="ok", started_at=AT, finished_at=AT, dropped={"spread": 2}, as_of=AT
    )
    signal = get("scanner", "Signal").objects.create(
        scan=scan,
        ticker="AAPL",
        structure="atm_call_calendar",
        pair="30-60",
        front_expiry=FRONT,
        back_expiry=BACK,
        ff=0.31,
        passes_liquidity=True,
        as_of=AT,
        data={"ff": 0.31, "front_iv": 0.42},
    )
    key = dict(
        user=user,
        signal=signal,
        kind="subscription",
        ticker="AAPL",
        structure="atm_call_calendar",
        pair="30-60",
        front_expiry=FRONT,
        back_expiry=BACK,
        trading_day=DAY,
        ff_bucket=31,
        ff=0.31,
        created_at=AT,
    )
    if any(f.name == "ff_judged" for f in Alert._meta.get_fields()):
        key["ff_judged"] = 0.31
    if any(f.name == "status" for f in Alert._meta.get_fields()):
        alert = Alert.objects.create(**key, **DELIVERY)
    else:  # delivery is the message's
        message = get(alert_app, "Message").objects.create(
            user=user, ticker="AAPL", scan=scan, kind="subscription", trading_day=DAY, created_at=AT, **DELIVERY
        )
        alert = Alert.objects.create(**key, message=message)
    snapshot = UniverseSnapshot.objects.create(session_date=DAY, parameters={"top": 2})
    UniverseSnapshot.objects.filter(pk=snapshot.pk).update(created_at=AT)
    member = UniverseMember.objects.create(snapshot=snapshot, rank=1, ticker="MSFT", volume=1e6, dollar_volume=4e8)
    exclusion = UniverseExclusion.objects.create(ticker="GME", reason="meme")
    UniverseExclusion.objects.filter(pk=exclusion.pk).update(created_at=AT)

    alert_type, _ = ContentType.objects.get_or_create(app_label=alert_app, model="alert")
    for model in MOVED["discovery"]:
        ContentType.objects.get_or_create(app_label=universe_app, model=model)
    member_type = ContentType.objects.get(app_label=universe_app, model="universemember")
    view_alert, _ = Permission.objects.get_or_create(
        content_type=alert_type, codename="view_alert", defaults={"name": "Can view alert"}
    )
    user.user_permissions.add(view_alert)
    alert_entry = LogEntry.objects.create(
        action_time=AT,
        user=admin_user,
        content_type=alert_type,
        object_id=str(alert.pk),
        object_repr="alert",
        action_flag=2,
        change_message="[]",
    )
    member_entry = LogEntry.objects.create(
        action_time=AT,
        user=admin_user,
        content_type=member_type,
        object_id=str(member.pk),
        object_repr="#1 MSFT",
        action_flag=1,
        change_message="[]",
    )
    for name in SCHEDULE_MIGRATIONS:
        (operation,) = importlib.import_module(name).Migration.operations
        operation.code(apps, None)
    assert get("django_celery_beat", "PeriodicTask").objects.exists()
    return {
        "user": user.pk,
        "alert": alert.pk,
        "member": member.pk,
        "alert_entry": alert_entry.pk,
        "member_entry": member_entry.pk,
        "alert_type": alert_type.pk,
    }


def assert_no_empty_table(before: dict[str, list[tuple]]) -> None:
    empty = [table for table, table_rows in before.items() if not table_rows]
    assert not empty, f"seed wrote nothing to {empty}"


def relabelled(before: dict[int, tuple[str, str]], source: str | None, target: dict[str, str]) -> dict:
    """The content types expected after the move: the moved models' rows relabelled in place."""
    expected = {}
    for pk, (app_label, model) in before.items():
        for app, models in MOVED.items():
            if app_label == (source or app) and model in models:
                app_label = target.get(app, app)
        expected[pk] = (app_label, model)
    return expected


def test_a_database_at_the_old_head_migrates_forward_with_its_rows(migrations):
    # given a database at the head before the split, with a row in every table of ours
    old_apps = migrate_to_old_head()
    ids = seed(old_apps, alert_app="scanner", universe_app="scanner")
    before, types_before = rows(), content_types()
    assert_no_empty_table(before)
    # when it migrates to the latest migrations
    migrate_to_latest()
    # then the moved models' content types were relabelled in place (same ids), with no stale one left
    assert content_types() == relabelled(types_before, "scanner", {})
    # and every row is as it was, the alert's delivery now on a message of its own
    stable_before = {table: before[table] for table in STABLE_TABLES}
    assert in_columns_of(rows(STABLE_TABLES), stable_before) == stable_before
    from django.contrib.contenttypes.models import ContentType

    assert not ContentType.objects.filter(app_label="scanner", model__in=MOVED_MODELS).exists()
    # and the new models read them back with their relations
    from django.contrib.admin.models import LogEntry

    from accounts.models import User
    from alerts.models import Alert, message_domain
    from discovery.models import UniverseExclusion, UniverseMember, UniverseSnapshot

    alert = Alert.objects.select_related("signal__scan", "user", "message").get()
    assert (alert.pk, alert.created_at, alert.trading_day) == (ids["alert"], AT, DAY)
    assert {name: getattr(alert.message, name) for name in DELIVERY} == DELIVERY
    # the Message-ID it had when alerts were sent one by one, so a send caught by the upgrade goes out once
    assert alert.message.message_id == f"<alert-{alert.pk}.{AT:%Y%m%d%H%M%S%f}@{message_domain()}>"
    assert (alert.message.scan_id, alert.message.ticker) == (alert.signal.scan_id, "AAPL")
    # judged on its signal's FF, as every alert was before the earnings policy's FF was kept
    assert (alert.ff, alert.ff_judged) == (0.31, 0.31)
    assert alert.signal.scan.ticker == "AAPL" and alert.signal.data == {"ff": 0.31, "front_iv": 0.42}
    assert alert.user.email == "trader@example.com"
    member = UniverseMember.objects.select_related("snapshot").get()
    assert (member.pk, member.ticker, member.snapshot.session_date) == (ids["member"], "MSFT", DAY)
    assert UniverseSnapshot.objects.latest().members.get() == member
    assert UniverseExclusion.objects.get().ticker == "GME"
    # and the admin log entries and permissions follow the models to their new app
    assert ContentType.objects.get_for_model(Alert).pk == ids["alert_type"]
    alert_entry = LogEntry.objects.get(pk=ids["alert_entry"])
    assert alert_entry.content_type.app_label == "alerts"
    assert alert_entry.get_edited_object() == alert
    member_entry = LogEntry.objects.get(pk=ids["member_entry"])
    assert member_entry.content_type.app_label == "discovery"
    assert member_entry.get_edited_object() == member
    assert User.objects.get(pk=ids["user"]).has_perm("alerts.view_alert")
    # and the id sequences carry on where they were
    new_alert = Alert.objects.create(
        user=alert.user, signal=alert.signal, kind="discovery", ticker="AAPL", structure="double_calendar",
        pair="30-60", front_expiry=FRONT, back_expiry=BACK, trading_day=DAY, ff_bucket=31, ff=0.31, ff_judged=0.31,
        created_at=AT, message=alert.message,
    )  # fmt: skip
    assert new_alert.pk > alert.pk
    # and every beat entry names a task the Celery app has, the moved ones from their new modules
    from django_celery_beat.models import PeriodicTask

    from forwardfactor.celery import app

    app.loader.import_default_modules()
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert scheduled >= {
        "scanner.tasks.refresh_universe",
        "scanner.tasks.discovery_sweep",
        "scanner.tasks.flush_held_alerts",
        "scanner.tasks.stream_heartbeat",
    }
    assert scheduled <= set(app.tasks)
    assert app.tasks["scanner.tasks.flush_held_alerts"].run.__module__ == "alerts.tasks"
    assert app.tasks["scanner.tasks.send_alerts"].run.__module__ == "alerts.tasks"
    assert app.tasks["scanner.tasks.discovery_sweep"].run.__module__ == "discovery.tasks"
    assert app.tasks["scanner.tasks.refresh_universe"].run.__module__ == "discovery.tasks"


def test_alerts_of_one_scan_from_before_messages_keep_a_message_each(migrations):
    # given a database at the old head where one scan alerted a user on two pairs (an email per alert then)
    old_apps = migrate_to_old_head()
    seed(old_apps, alert_app="scanner", universe_app="scanner")
    OldAlert = old_apps.get_model("scanner", "Alert")
    first = OldAlert.objects.get()
    copied = {f.attname: getattr(first, f.attname) for f in OldAlert._meta.concrete_fields if not f.primary_key}
    OldAlert.objects.create(**{**copied, "pair": "30-90", "ff": 0.4})
    # when it migrates to the latest migrations (one message per user and scan is now the database's rule)
    migrate_to_latest()
    # then each alert keeps the message of its own it was sent with, judged on its own FF
    from django.db import IntegrityError, transaction

    from alerts.models import Alert, Message

    alerts = list(Alert.objects.select_related("message").order_by("pk"))
    assert [(a.pair, a.ff_judged) for a in alerts] == [("30-60", 0.31), ("30-90", 0.4)]
    assert alerts[0].message.scan_id == alerts[1].message.scan_id and alerts[0].message != alerts[1].message
    # and a new message of that scan to the user is stored once, a second one refused
    new = dict(
        user_id=first.user_id, ticker="AAPL", scan_id=alerts[0].message.scan_id, kind="subscription", trading_day=DAY
    )
    Message.objects.create(**new)
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(**new)


def test_migrating_back_to_the_old_head_keeps_the_tables_and_rows(migrations):
    # given a database at the latest migrations, with a row in every table of ours
    latest_apps = migrate_to_latest()
    ids = seed(latest_apps, alert_app="alerts", universe_app="discovery")
    before, types_before = rows(), content_types()
    assert_no_empty_table(before)
    # when it migrates back to the head before the split
    old_apps = migrate_to_old_head()
    # then the content types are scanner's again, in place, and every row is as it was
    assert content_types() == relabelled(types_before, None, {"alerts": "scanner", "discovery": "scanner"})
    stable_before = {table: before[table] for table in STABLE_TABLES}
    now = rows(STABLE_TABLES)
    assert now == in_columns_of(stable_before, now)
    # and the old models read the rows back with their relations, the alert with its message's delivery
    alert = old_apps.get_model("scanner", "Alert").objects.select_related("signal__scan").get()
    assert (alert.pk, alert.signal.scan.ticker, alert.created_at) == (ids["alert"], "AAPL", AT)
    assert {name: getattr(alert, name) for name in DELIVERY} == DELIVERY
    member = old_apps.get_model("scanner", "UniverseMember").objects.select_related("snapshot").get()
    assert (member.pk, member.snapshot.session_date) == (ids["member"], DAY)
    entry = old_apps.get_model("admin", "LogEntry").objects.select_related("content_type").get(pk=ids["alert_entry"])
    assert (entry.content_type.app_label, entry.content_type.model) == ("scanner", "alert")
    # and it migrates forward again to where it was
    latest = migrate_to_latest()
    assert content_types() == types_before
    # (columns added after the old head, such as a scan's heartbeat, come back with their defaults)
    assert in_columns_of(rows(STABLE_TABLES), now) == in_columns_of(stable_before, now)
    again = latest.get_model("alerts", "Alert").objects.select_related("message").get()
    assert {name: getattr(again.message, name) for name in DELIVERY} == DELIVERY
