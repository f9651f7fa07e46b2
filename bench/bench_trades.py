"""The track record's cost on the scan path and at the exit, on PostgreSQL (a throw-away database
created beside DATABASE_URL's).

* trades.hook_ms: the paper-trade hook of one scan (inside the scan's transaction) whose chain quotes
  the legs of MARKED open trades of its ticker: lock them, mark them all, look for due trades, try to
  open the scan's qualifying signals (all already traded). Median over ROUNDS scans, each later than
  the last with new quotes.
* trades.hook_queries: that hook's SQL statements (savepoints aside) for MARKED trades, against the
  same for FEW trades (baseline): it must not grow with the number of trades marked.
* trades.close_per_s: closing CLOSED due trades on CLOSED / 5 underlyings in one close_due_trades run.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

MARKED = 50
FEW = 5
ROUNDS = 7
CLOSED = 1_000
OPENED = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)  # a Tuesday, 11:00 New York; fronts expire 2025-04-03


def run() -> list[dict]:
    from django.db import connection

    if connection.vendor != "postgresql":
        print("   skipped: needs DATABASE_URL=postgres://… (the trades' unique key uses ON CONFLICT)")
        return []
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return _measure()
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def spread(ticker: str, strike: float, at: datetime, front: tuple[float, float], back: tuple[float, float]):
    """A qualifying ATM call calendar at ``strike`` quoted at ``at`` (expiries fixed by OPENED)."""
    from scanner.engine.costs import spread_costs
    from testing.factories import signal_dict

    signal = signal_dict(ticker=ticker, as_of=OPENED)
    signal["as_of"] = at.isoformat()
    for leg, (bid, ask) in zip(signal["legs"], (front, back), strict=True):
        leg.update(strike=strike, bid=bid, ask=ask, mid=(bid + ask) / 2)
    signal["strike"] = strike
    signal.update(spread_costs(signal["legs"]))
    return signal


def scan_rows(ticker: str, count: int, at: datetime, shift: float):
    from testing.factories import saved_signals

    return saved_signals(
        *(spread(ticker, 50.0 + i, at, (2.9 - shift, 3.0 - shift), (4.1 + shift, 4.3 + shift)) for i in range(count))
    )


def hook(ticker: str, count: int, rounds: int) -> tuple[list[float], int]:
    """Open ``count`` trades of ``ticker``, then time ``rounds`` scans marking them; (ms, statements)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from trades.models import Mark
    from trades.service import trade_signals

    with transaction.atomic():
        rows = scan_rows(ticker, count, OPENED, 0.0)
        trade_signals(rows[0].scan, rows)
    timings, statements = [], 0
    for r in range(1, rounds + 1):
        rows = scan_rows(ticker, count, OPENED + timedelta(days=r), 0.05 * r)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            started = time.perf_counter()
            trade_signals(rows[0].scan, rows)
            timings.append((time.perf_counter() - started) * 1000)
        statements = sum(1 for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")))
    assert Mark.objects.filter(trade__ticker=ticker).count() == count * rounds
    return timings, statements


def close_all() -> float:
    """Open CLOSED trades on CLOSED / 5 tickers and close them in one run at their exit; trades a second."""
    from django.db import transaction

    from trades import exits
    from trades.models import PaperTrade
    from trades.opening import open_trades

    with transaction.atomic():
        for t in range(CLOSED // 5):
            open_trades(scan_rows(f"C{t:03d}", 5, OPENED, 0.0))
    PaperTrade.objects.exclude(ticker__startswith="C").delete()  # the hook rounds' trades
    due = PaperTrade.objects.first().exit_due_at
    started = time.perf_counter()
    closed = exits.close_due_trades(due)
    elapsed = time.perf_counter() - started
    assert closed == CLOSED, closed
    return closed / elapsed


def _measure() -> list[dict]:
    few_timings, baseline = hook("FEWB", FEW, ROUNDS)
    timings, statements = hook("BENCH", MARKED, ROUNDS)
    per_s = close_all()
    print(f"   hook: {', '.join(f'{t:.1f}' for t in timings)} ms; {statements} statements; close {per_s:.0f}/s")
    print(f"   hook with {FEW} trades: median {statistics.median(few_timings):.1f} ms")
    return [
        {
            "name": "trades.hook_ms",
            "value": round(statistics.median(timings), 1),
            "unit": "ms",
            "baseline": round(statistics.median(few_timings), 1),
            "ratio": round(statistics.median(timings) / statistics.median(few_timings), 2),
            "goal": f"marks {MARKED} open trades of the scanned ticker (baseline: {FEW})",
        },
        {
            "name": "trades.hook_queries",
            "value": statements,
            "unit": "queries",
            "baseline": baseline,
            "ratio": round(statements / baseline, 3),
            "goal": f"== baseline ({FEW} trades)",
        },
        {
            "name": "trades.close_per_s",
            "value": round(per_s, 1),
            "unit": "trades/s",
            "baseline": None,
            "ratio": None,
            "goal": f"{CLOSED} due trades in one run",
        },
    ]
