"""How every task survives the infrastructure going away for a while: one definition for all tasks.

A lost Redis or PostgreSQL connection is retried like a vendor's 5xx: with exponential backoff and full
jitter (so a fleet does not come back in step), after dropping the broken database connection so the
retry opens a new one. Each task adds its own transient errors (the vendor's, SMTP's) to these.
"""

from __future__ import annotations

import logging
from typing import Any

import kombu.exceptions
import redis
from celery import Task
from celery.exceptions import Reject
from django.db import InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

# Redis (shared state, locks, the rate limiter) unreachable or too slow; PostgreSQL connection lost or
# refused (psycopg raises OperationalError, and InterfaceError on a connection already closed); the
# broker unreachable when a task publishes (kombu's OperationalError).
TRANSIENT_INFRA_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
)
# The broker refusing a publish: what a retry's own re-enqueue raises while Redis is down.
_BROKER_DOWN = (kombu.exceptions.OperationalError, redis.ConnectionError, redis.TimeoutError, OSError)


class InfraRetryTask(Task):
    """A task whose retries survive a broken database connection and a broker that is down."""

    def retry(self, *args: Any, exc: BaseException | None = None, **options: Any):
        if isinstance(exc, (OperationalError, InterfaceError)):
            drop_database_connections()
        try:
            return super().retry(*args, exc=exc, **options)
        except Reject as rejected:
            # Celery 5.7 (app/task.py, Task.retry) publishes the retry as a new message and, when that
            # publish fails, raises Reject(requeue=False): the worker then marks the task failed and
            # deletes its message (worker/request.py on_failure), so a retry during a broker outage
            # was lost. Requeueing instead keeps the message: the worker puts it back at the head of
            # the queue, or, with Redis itself unreachable, cannot ack or reject it at all (kombu
            # logs the failed reject), so it stays in Redis' unacked set and is redelivered after the
            # visibility timeout once Redis is back (AOF keeps that set across a Redis restart).
            if isinstance(rejected.reason, _BROKER_DOWN):
                logger.warning("%s[%s]: retry not published (%s); message requeued", self.name, self.request.id, exc)
                raise Reject(rejected.reason, requeue=True) from exc
            raise


def drop_database_connections() -> None:
    """Close every database connection of this thread that is broken, so the next query opens a new one.

    A connection inside a transaction is left alone: it belongs to an eager task's caller.
    """
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None and not connection.is_usable():
            connection.close()


def retrying(*also: type[BaseException], backoff: int = 2, backoff_max: int = 120, max_retries: int = 10) -> dict:
    """``shared_task`` options: retry ``also`` and the transient infrastructure errors, backoff with jitter.

    Ten retries of full-jitter backoff capped at two minutes span about six minutes on average: a
    restart of PostgreSQL or Redis, not an hour-long outage (the scan sweeper covers longer ones).
    """
    return dict(
        base=InfraRetryTask,
        autoretry_for=(*also, *TRANSIENT_INFRA_ERRORS),
        retry_backoff=backoff,
        retry_backoff_max=backoff_max,
        retry_jitter=True,
        max_retries=max_retries,
    )
