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

from bench.pages import on_throwaway_postgres, time_page

CLOSED = 2000
OPEN = 200
WARMUP, ROUNDS = 3, 20
GOAL_MS = 100


def run() -> list[dict]:
    return on_throwaway_postgres(_measure, "the page's time")


def _measure() -> list[dict]:
    from django.test import Client

    from testing.paper_trades import varied_book
    from trades.models import PaperTrade

    varied_book(CLOSED)
    opened = varied_book(OPEN, start=CLOSED)
    PaperTrade.objects.filter(pk__in=[t.pk for t in opened]).update(
        status=PaperTrade.Status.OPEN, closed_at=None, exit_reason=""
    )
    client = Client()
    path = "/track-record/"
    measured = time_page(client, path, WARMUP, ROUNDS)
    times, response, queries = measured.times_ms, measured.response, measured.queries
    assert response.context["record"].closed_count == CLOSED
    median = statistics.median(times)
    print(
        f"   {len(response.content) / 1024:.0f} KiB page; min {min(times):.1f} ms, median {median:.1f} ms, "
        f"max {max(times):.1f} ms; {queries} queries"
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
            "value": queries,
            "unit": "queries",
            "baseline": None,
            "ratio": None,
            "goal": "constant",
        },
    ]
