"""The broker and result backend settings that keep workers alive and tasks unlost when Redis goes away."""

from __future__ import annotations

from django.conf import settings

import celeryconfig

SCAN_HARD_LIMIT_S = celeryconfig.task_time_limit
SWEEP_PERIOD_S = 20  # scanner/migrations/0010_abandoned_scan_sweeper_schedule.py


def test_the_visibility_timeout_outlasts_every_hard_limit_and_retry_countdown():
    # A live worker's task (running, or held for its retry countdown) is never redelivered to another.
    from forwardfactor.celery import app

    app.loader.import_default_modules()
    visibility = celeryconfig.broker_transport_options["visibility_timeout"]
    for task in app.tasks.values():
        if task.name.startswith(("scanner.", "forwardfactor.")):
            assert visibility > (task.time_limit or SCAN_HARD_LIMIT_S), task.name
            assert visibility >= getattr(task, "retry_backoff_max", 0), task.name
    assert celeryconfig.broker_transport_options["unacked_restore_interval"] <= 10


def test_a_dead_workers_scan_is_back_in_the_queue_within_a_minute():
    # The lease lapses within SCAN_LOCK_SECONDS of the death, then the sweeper runs within its period.
    assert settings.SCAN_LOCK_SECONDS + SWEEP_PERIOD_S <= 60
    # A scan silent longer than any scan may take is dead whatever its lock says.
    assert settings.SCAN_STALE_SECONDS > SCAN_HARD_LIMIT_S


def test_workers_reconnect_forever_and_never_wait_long_on_redis():
    assert celeryconfig.broker_connection_retry and celeryconfig.broker_connection_max_retries is None
    options = celeryconfig.broker_transport_options
    assert options["socket_timeout"] <= 10 and options["socket_connect_timeout"] <= 5
    assert options["retry_on_timeout"] and options["health_check_interval"] <= 30
    assert celeryconfig.redis_socket_timeout <= 5 and celeryconfig.redis_socket_connect_timeout <= 5
    assert celeryconfig.result_backend_always_retry and celeryconfig.result_backend_max_retries <= 5


def test_tasks_nobody_waits_on_store_no_result():
    from forwardfactor.celery import app

    app.loader.import_default_modules()
    for name in ("scan_ticker", "stream_heartbeat", "requeue_abandoned_scans", "send_alerts", "flush_held_alerts"):
        assert app.tasks[f"scanner.tasks.{name}"].ignore_result, name
