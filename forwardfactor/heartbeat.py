"""A sign of life given from a thread of its own while a task works: a scan's lock lease, a send task's claim.

The beat runs every ``every_s`` seconds whatever the task is blocked on (a slow vendor, an SMTP server
that takes its time), so a lease can be short: a killed worker stops beating and its lease lapses
within one lease length, while a live one never loses it. A beat that fails (Redis or PostgreSQL away
for a moment) is logged and tried again at the next one; a beat that returns False ends the heartbeat
(the lease was lost to someone else and renewing it would be wrong).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import DatabaseError, connections
from redis import RedisError

logger = logging.getLogger(__name__)


class Heartbeat:
    """Calls ``beat`` every ``every_s`` seconds in a daemon thread until ``stop``."""

    def __init__(self, beat: Callable[[], bool | None], every_s: float, name: str) -> None:
        self._beat = beat
        self._every_s = every_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopped.wait(self._every_s):
                try:
                    if self._beat() is False:
                        logger.warning("%s: lease lost, no longer renewed", self._thread.name)
                        return
                except (RedisError, DatabaseError) as exc:
                    logger.warning("%s: could not renew: %s", self._thread.name, exc)
        finally:
            # A beat that used the database opened a connection of this thread's own: close it here,
            # not at garbage collection.
            connections.close_all()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> Heartbeat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
