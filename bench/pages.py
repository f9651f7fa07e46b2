"""What the page benchmarks share: a throw-away PostgreSQL database and the server time of a page.

A page is requested through Django's test Client in this process, so its time is the server's
(middleware, session, queries, template), not a network's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


def on_throwaway_postgres(measure: Callable[[], list[dict]], what: str) -> list[dict]:
    """Run ``measure`` in a database created beside DATABASE_URL's and dropped after; [] off PostgreSQL."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    if connection.vendor != "postgresql":
        print(f"   skipped: needs DATABASE_URL=postgres://… ({what} is measured on PostgreSQL)")
        return []
    setup_test_environment()  # the test Client's host name is allowed
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return measure()
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
        teardown_test_environment()


@dataclass
class PageTimes:
    times_ms: list[float]
    response: object  # the last measured response
    queries: int  # the queries of one more request


def time_page(client, path: str, warm_up: int, rounds: int) -> PageTimes:
    """``rounds`` timed requests of ``path`` after ``warm_up`` untimed ones, and one more counting queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warm_up):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return PageTimes(times, response, len(captured))
