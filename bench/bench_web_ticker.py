"""Server time of the ticker page /tickers/<SYMBOL>/ with a long history of stored scans.

Runs on the PostgreSQL of DATABASE_URL, in a throw-away database created beside the configured one.
The benchmarked ticker has 60 NYSE sessions of scans, 4 a session, each with its 6 signals (3 pairs
× 2 structures, the engine's full JSON) and its term structure: 240 scans, 1,440 signals, all within
the page's 90-day history. OTHER_TICKERS more tickers carry the same history, so the page's queries
pick one ticker's rows out of a table several times larger. The signed-in user follows it and has
alerts for it.

Metrics:
* web.ticker_page_ms: median of ROUNDS requests of the page through Django's test Client (signed in),
  after WARMUP requests: URL resolution, session, queries, template and JSON, no network.
* web.ticker_page_queries: database queries of one request (constant whatever the history).
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

from bench.pages import on_throwaway_postgres, time_page

TICKER = "AAPL"
OTHER_TICKERS = 20
SESSIONS = 60
SCANS_A_SESSION = 4
PAIRS = ("30-60", "30-90", "60-90")
STRUCTURES = ("atm_call_calendar", "double_calendar")
LAST_SESSION = date(2026, 3, 4)
WARMUP, ROUNDS = 3, 20
GOAL_MS = 100


def run() -> list[dict]:
    return on_throwaway_postgres(_measure, "the page's time")


def _measure() -> list[dict]:
    from django.test import Client

    person = _seed()
    client = Client()
    client.force_login(person)
    path = f"/tickers/{TICKER}/"
    measured = time_page(client, path, WARMUP, ROUNDS)
    times, response, queries = measured.times_ms, measured.response, measured.queries
    median = statistics.median(times)
    print(
        f"   {len(response.content) / 1024:.0f} KiB page; min {min(times):.1f} ms, median {median:.1f} ms, "
        f"max {max(times):.1f} ms; {queries} queries"
    )
    return [
        {
            "name": "web.ticker_page_ms",
            "value": round(median, 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "goal": f"<= {GOAL_MS}",
        },
        {
            "name": "web.ticker_page_queries",
            "value": queries,
            "unit": "queries",
            "baseline": None,
            "ratio": None,
            "goal": "constant",
        },
    ]


def _sessions() -> list[date]:
    from market.calendar import session_before

    days = [LAST_SESSION]
    while len(days) < SESSIONS:
        days.append(session_before(days[-1]))
    return days[::-1]


def _seed():
    from accounts.models import Subscription
    from alerts.models import Alert, Message
    from scanner.models import EarningsEvent, OptionableUnderlying, Scan, Signal, Ticker
    from scanner.scanning import signal_row
    from testing.factories import signal_dict, user

    person = user("bench@example.com")
    Subscription.objects.create(user=person, ticker=TICKER)
    now = datetime(2026, 3, 4, 21, tzinfo=UTC)
    OptionableUnderlying.objects.create(symbol=TICKER, refreshed_at=now)
    Ticker.objects.create(symbol=TICKER, earnings_answer="vendor")
    EarningsEvent.objects.create(ticker=TICKER, date=date(2026, 4, 30), source="vendor")
    # Scan times: 15:00, 16:30, 18:00, 19:30 UTC of each session (the New York session's hours).
    moments = [
        datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15 + 1.5 * n)
        for day in _sessions()
        for n in range(SCANS_A_SESSION)
    ]
    term = [
        {"expiry": (LAST_SESSION + timedelta(days=dte)).isoformat(), "dte": dte, "atm_iv": 0.3 + 0.2 / dte, "source": s}
        for dte, s in ((9, "probe"), (16, "probe"), (30, "chain"), (60, "chain"), (90, "chain"), (180, "probe"))
    ]
    for symbol in [TICKER] + [f"OT{i:02d}" for i in range(OTHER_TICKERS)]:
        scans = Scan.objects.bulk_create(
            [
                Scan(
                    ticker=symbol,
                    reason=Scan.Reason.HEARTBEAT,
                    outcome=Scan.Outcome.OK,
                    started_at=moment,
                    finished_at=moment,
                    as_of=moment,
                    underlying_price=100.0,
                    term_structure=term,
                )
                for moment in moments
            ]
        )
        Signal.objects.bulk_create(
            [
                signal_row(
                    scan,
                    signal_dict(symbol, structure=structure, pair=pair, ff=0.2 + (i % 9) / 50, as_of=scan.as_of),
                )
                for i, scan in enumerate(scans)
                for pair in PAIRS
                for structure in STRUCTURES
            ],
            batch_size=2000,
        )
    last = Signal.objects.filter(ticker=TICKER).order_by("-as_of").first()
    # One alert of each of the latest 30 scans of the same pair and structure: a user has one message per scan.
    recent = Signal.objects.filter(ticker=TICKER, pair=last.pair, structure=last.structure).order_by("-as_of")[:30]
    for n, signal in enumerate(recent):
        message = Message.objects.create(
            user=person,
            ticker=TICKER,
            scan_id=signal.scan_id,
            kind=Message.Kind.SUBSCRIPTION,
            trading_day=LAST_SESSION,
            status=Message.Status.SENT,
        )
        Alert.objects.create(
            user=person,
            signal=signal,
            message=message,
            kind=Alert.Kind.SUBSCRIPTION,
            ticker=TICKER,
            structure=signal.structure,
            pair=signal.pair,
            front_expiry=signal.front_expiry,
            back_expiry=signal.back_expiry,
            trading_day=LAST_SESSION,
            ff_bucket=n,
            ff=signal.ff,
            ff_judged=signal.ff,
        )
    assert Signal.objects.filter(ticker=TICKER).count() == SESSIONS * SCANS_A_SESSION * len(PAIRS) * len(STRUCTURES)
    return person
