"""Scans whose task died: found, closed and scanned again, so no Scan row stays ``running``.

A scan is abandoned when its row still says running but its task shows no life: it no longer holds the
ticker's lock (the lease lapses within SCAN_LOCK_SECONDS of a worker's death) and it has been silent
that long, or it has been silent longer than any scan may take (SCAN_STALE_SECONDS). Its row is marked
failed, naming the new task, and the ticker is scanned again under that task id: a fresh row, because
the dead task may still be redelivered by the broker and continue its own row. Both then run, one
after the other (single flight), and alerts never go out twice (their unique key).

The row is closed with a conditional UPDATE (still running, heartbeat unchanged) and the new scan is
published inside the same transaction: a second sweeper finds nothing to do, a task that came back to
life in between wins, and a publish that fails (broker down) rolls the row back for the next sweep.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from scanner.models import Scan
from scanner.scanning import lock_holder

logger = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")

# Publishes scan_ticker(ticker, reason) under the given task id.
Enqueue = Callable[[str, str, str], None]


def requeue_abandoned_scans(now: datetime, enqueue: Enqueue) -> list[tuple[int, str]]:
    """Close every abandoned scan and enqueue its ticker again; the (closed scan id, new task id) pairs."""
    lease_lapsed = now - timedelta(seconds=settings.SCAN_LOCK_SECONDS)
    silent_too_long = now - timedelta(seconds=settings.SCAN_STALE_SECONDS)
    candidates = Scan.objects.filter(outcome=Scan.Outcome.RUNNING, heartbeat_at__lt=lease_lapsed).values_list(
        "pk", "ticker", "reason", "task_id", "heartbeat_at"
    )
    requeued = []
    for pk, ticker, reason, task_id, heartbeat_at in candidates:
        if heartbeat_at >= silent_too_long and task_id and lock_holder(ticker) == task_id:
            continue  # a slow scan still renewing its lease: alive
        replacement = uuid.uuid4().hex
        with transaction.atomic():
            closed = Scan.objects.filter(Q(pk=pk), outcome=Scan.Outcome.RUNNING, heartbeat_at=heartbeat_at).update(
                outcome=Scan.Outcome.FAILED,
                finished_at=now,
                error=f"abandoned: its task {task_id or '(none)'} showed no sign of life after "
                f"{heartbeat_at.astimezone(NEW_YORK):%Y-%m-%d %H:%M:%S} New York; scanned again as task {replacement}",
            )
            if closed:
                enqueue(ticker, reason, replacement)
        if closed:
            logger.warning("scan %s of %s abandoned by task %s; re-queued as %s", pk, ticker, task_id, replacement)
            requeued.append((pk, replacement))
    return requeued
