"""The Celery app: configured from celeryconfig.py, tasks discovered in each app's tasks.py."""

import os
import weakref

from celery import Celery
from celery.signals import beat_init, celeryd_init, task_postrun, task_prerun, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forwardfactor.settings")

app = Celery("forwardfactor")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()


@celeryd_init.connect
def _worker_needs_a_broker(**kwargs) -> None:
    _refuse_the_in_memory_broker("celery worker", "it would never receive a task")
    _refuse_an_unreachable_database("celery worker")


@beat_init.connect
def _beat_needs_a_broker(**kwargs) -> None:
    _refuse_the_in_memory_broker("celery beat", "no worker would receive what it schedules")
    _refuse_an_unreachable_database("celery beat")


def _refuse_an_unreachable_database(process: str) -> None:
    """A process that starts without its database would take tasks only to fail them: say so and stop
    (exit 1, so the supervisor restarts it and the health check stays red until the database answers)."""
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(f"{process} cannot reach the database (check DATABASE_URL): {reason}") from None
    finally:
        connection.close()


def _refuse_the_in_memory_broker(process: str, consequence: str) -> None:
    """Without REDIS_URL the broker is in-memory: fine for eager tasks, useless for a separate process."""
    if (app.conf.broker_url or "").startswith("memory://"):
        # SystemExit passes through Celery's signal dispatch (it only catches Exception): one line, exit 1.
        raise SystemExit(
            f"{process} needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/0): on the in-memory broker {consequence}"
        )


@app.task(name="forwardfactor.ping")
def ping(value: str = "pong") -> str:
    """Round-trip probe for operators and the broker test."""
    return value


# The connections task threads keep open: a thread pool's threads end without closing theirs, and a
# test database teardown would find them still there.
_task_connections: weakref.WeakSet = weakref.WeakSet()


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(sender=None, **kwargs) -> None:
    """Keep a worker's connection across tasks for CONN_MAX_AGE; drop a broken or expired one.

    What Django does around a web request (it also re-arms CONN_HEALTH_CHECKS). Eager tasks run
    inside their caller's transaction, which must not be touched.
    """
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None:
            _task_connections.add(connection)


@worker_shutdown.connect
def close_task_connections(**kwargs) -> None:
    """Close the connections task threads left open (a worker stopping; tests' in-process workers)."""
    for connection in list(_task_connections):
        connection.inc_thread_sharing()  # the task threads have ended; this thread closes for them
        try:
            connection.close()
        finally:
            connection.dec_thread_sharing()
    _task_connections.clear()
