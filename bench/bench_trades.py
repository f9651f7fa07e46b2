"""The track record's cost on the scan path and at the exit, on PostgreSQL (a throw-away database
created beside DATABASE_URL's).

* trades.hook_ms: the paper-trade hook of one scan (inside the scan's transaction) whose chain quotes
  the legs of MARKED open trades of its ticker: lock them, mark them all, look for due trades, try to
  open the scan's qualifying signals (all already traded). Median over ROUNDS scans, each later than
  the last with new quotes.
* trades.hook_queries: that hook's SQL statements (savepoints aside) for MARKED trades, against the
  same for FEW trades (baseline): it must not grow with the number of trades marked.
* trades.close_per_s: closing CLOSED due trades on CLOSED / 5 underlyings in one close_due_trades run.
* trades.mark_requests_per_underlying: the daily targeted mark of DAILY_TRADES open trades on
  DAILY_UNDERLYINGS underlyings of the simulated market (loopback), each underlying's trades using
  three expiries: chain requests ÷ underlyings. It equals the expiries per underlying (1 per expiry,
  shared by every trade with a leg there); baseline: the full chain of every underlying (all pages).
* trades.daily_mark_s: that mark, wall seconds (fetch + mark + exits), at LATENCY_MS per request and the
  fleet limit POLYGON_MAX_RPS=MAX_RPS (the vendor's ask for paid plans), median of DAILY_ROUNDS rounds;
  baseline: the same marks from the full chains, measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta

MARKED = 50
FEW = 5
ROUNDS = 7
CLOSED = 1_000
OPENED = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)  # a Tuesday, 11:00 New York; fronts expire 2025-04-03
DAILY_TRADES = 1_000
DAILY_UNDERLYINGS = 200
DAILY_ROUNDS = 3
LATENCY_MS = 100
MAX_RPS = "100"
DAILY_SESSION = date(2025, 6, 5)  # a Thursday: weekly expiries 06-06, 06-13, 06-20 are listed
DAILY_OPENED = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)
DAILY_AT = datetime(2025, 6, 5, 18, 0, tzinfo=UTC)  # 14:00 New York: no trade due yet, so every round marks all


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


def daily_signal(ticker: str, front: date, back: date, strike: float):
    """A qualifying call calendar on these listed contracts, opened on DAILY_OPENED."""
    from testing.factories import signal_dict

    signal = signal_dict(ticker=ticker, as_of=DAILY_OPENED)
    signal.update(front_expiry=front.isoformat(), back_expiry=back.isoformat(), strike=strike)
    for leg in signal["legs"]:
        leg["expiry"] = (front if leg["leg"].startswith("front") else back).isoformat()
        leg["strike"] = strike
    return signal


def open_daily_trades(server) -> list[str]:
    """DAILY_TRADES / DAILY_UNDERLYINGS calendars per simulated underlying near the money: three over the
    first two weeklies, two over the next pair (three expiries per underlying)."""
    import numpy as np
    from django.db import transaction

    from testing.factories import saved_signals
    from trades.opening import open_trades

    per = DAILY_TRADES // DAILY_UNDERLYINGS
    tickers = [f"DM{i:03d}" for i in range(DAILY_UNDERLYINGS)]
    for i, ticker in enumerate(tickers):
        server.add_ticker(ticker, price=20.0 + 1.37 * i, volume=20_000_000)
        listing = server.market.listing(ticker)
        w1, w2, w3 = listing.expiries[:3]
        common = None
        for expiry in (w1, w2, w3):
            strikes = set(listing.strike[listing.expiry == np.datetime64(expiry)].tolist())
            common = strikes if common is None else common & strikes
        spot = server.market.spot(ticker, server.clock.epoch())
        near = sorted(sorted(common, key=lambda k: abs(k - spot))[:3])
        pairs = [(w1, w2, k) for k in near] + [(w2, w3, k) for k in near[:2]]
        with transaction.atomic():
            open_trades(saved_signals(*(daily_signal(ticker, *pair) for pair in pairs[:per])))
    return tickers


def full_chain_marks(client, tickers: list[str], now: datetime) -> int:
    """The baseline: every underlying's whole chain (all pages), then the same marks; requests used."""
    from concurrent.futures import ThreadPoolExecutor

    import orjson

    from scanner.polygon.market_types import contract_quotes
    from trades import daily_marks, exits

    client = client.counting()

    def whole(ticker: str):
        pages = client.option_chain_pages(ticker)
        rows = [row for page in pages.pages for row in orjson.loads(page.raw)["results"]]  # the vendor's bytes
        return ticker, list(contract_quotes(rows))

    with ThreadPoolExecutor(max_workers=daily_marks.MAX_PARALLEL) as pool:
        answers = list(pool.map(whole, tickers))
    quotes = {
        (ticker, (q.contract_type, q.expiry.isoformat(), float(q.strike))): q for ticker, rows in answers for q in rows
    }
    daily_marks.mark_from_quotes(*daily_marks.needing_a_mark(now, None), quotes, now)
    exits.close_due_trades(now)
    return client.requests_made


def daily(rounds: int = DAILY_ROUNDS) -> dict:
    """The daily targeted mark against the full-chain baseline, alternating, on one simulated market."""
    from forwardfactor.runtime import market_provider, using_market
    from marketsim.server import MarketSimServer
    from trades import daily_marks
    from trades.models import Mark, PaperTrade

    server = MarketSimServer(seed=7, speed=0, session_date=DAILY_SESSION, start_at=DAILY_AT).start()
    try:
        tickers = open_daily_trades(server)
        assert PaperTrade.objects.filter(ticker__startswith="DM").count() == DAILY_TRADES
        server.set_faults(latency_ms=LATENCY_MS)
        targeted, full, requests, full_requests = [], [], 0, 0
        with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS=MAX_RPS):
            client = market_provider().client
            for r in range(rounds):
                server.clock.set(DAILY_AT + timedelta(minutes=2 * r))
                started = time.perf_counter()
                report = daily_marks.mark_open_trades(server.now())
                targeted.append(time.perf_counter() - started)
                assert report.marked == DAILY_TRADES and not report.failed, report
                requests = report.requests
                server.clock.set(DAILY_AT + timedelta(minutes=2 * r + 1))
                started = time.perf_counter()
                full_requests = full_chain_marks(client, tickers, server.now())
                full.append(time.perf_counter() - started)
        assert Mark.objects.filter(trade__ticker__startswith="DM").count() == DAILY_TRADES * rounds * 2
    finally:
        server.stop()
    print(f"   daily mark: {', '.join(f'{t:.2f}' for t in targeted)} s, {requests} requests")
    print(f"   full chains: {', '.join(f'{t:.2f}' for t in full)} s, {full_requests} requests")
    return {
        "targeted_s": statistics.median(targeted),
        "full_s": statistics.median(full),
        "requests": requests,
        "full_requests": full_requests,
        "underlyings": len(tickers),
    }


def _measure() -> list[dict]:
    few_timings, baseline = hook("FEWB", FEW, ROUNDS)
    timings, statements = hook("BENCH", MARKED, ROUNDS)
    per_s = close_all()
    marking = daily()
    per_underlying = marking["requests"] / marking["underlyings"]
    full_per_underlying = marking["full_requests"] / marking["underlyings"]
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
        {
            "name": "trades.mark_requests_per_underlying",
            "value": round(per_underlying, 2),
            "unit": "requests",
            "baseline": round(full_per_underlying, 2),
            "ratio": round(per_underlying / full_per_underlying, 3),
            "goal": "== expiries per underlying (3): 1 per expiry, shared by its trades (baseline: full chain)",
        },
        {
            "name": "trades.daily_mark_s",
            "value": round(marking["targeted_s"], 2),
            "unit": "s",
            "baseline": round(marking["full_s"], 2),
            "ratio": round(marking["targeted_s"] / marking["full_s"], 3),
            "goal": f"{DAILY_TRADES} trades on {DAILY_UNDERLYINGS} underlyings, {LATENCY_MS} ms/request, "
            f"{MAX_RPS} req/s fleet limit",
        },
    ]
