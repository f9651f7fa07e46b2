"""Server time of the public track record page /track-record/ with 2,000 closed paper trades.

Runs on the PostgreSQL of DATABASE_URL, in a throw-away database created beside the configured one.
The trades (testing/paper_trades.py's varied book) spread over every FF bucket, pair, structure and
earnings in the window, three closing a session; OPEN more trades are still open. The visitor is
anonymous, as most of the page's readers are.

Metrics:
* web.track_record_ms: median of ROUNDS requests of the page's first page through Django's test Client,
  after WARMUP requests: the aggregates over every closed trade, both charts' data, a page of trades,
  the template, no network.
* web.track_record_queries: database queries of one request (constant whatever the trades).
"""

from __future__ import annotations

import statistics
import time

CLOSED = 2000
OPEN = 200
WARMUP, ROUNDS = 3, 20
GOAL_MS = 100


def run() -> list[dict]:
    from django.db import connection

    if connection.vendor != "postgresql":
        print("   skipped: needs DATABASE_URL=postgres://… (the page's queries are measured on PostgreSQL)")
        return []
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test Client's host name is allowed
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return _measure()
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def _measure() -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from testing.paper_trades import varied_book
    from trades.models import PaperTrade

    varied_book(CLOSED)
    opened = varied_book(OPEN, start=CLOSED)
    PaperTrade.objects.filter(pk__in=[t.pk for t in opened]).update(
        status=PaperTrade.Status.OPEN, closed_at=None, exit_reason=""
    )
    client = Client()
    path = "/track-record/"
    for _ in range(WARMUP):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    assert response.context["record"].closed_count == CLOSED
    median = statistics.median(times)
    print(
        f"   {len(response.content) / 1024:.0f} KiB page; min {min(times):.1f} ms, median {median:.1f} ms, "
        f"max {max(times):.1f} ms; {len(queries)} queries"
    )
    return [
        {
            "name": "web.track_record_ms",
            "value": round(median, 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "goal": f"<= {GOAL_MS}",
        },
        {
            "name": "web.track_record_queries",
            "value": len(queries),
            "unit": "queries",
            "baseline": None,
            "ratio": None,
            "goal": "constant",
        },
    ]
