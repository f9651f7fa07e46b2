"""Storage per day and per month at 2,000 names, keeping every scan (baseline) and with retention.

Runs on the PostgreSQL of DATABASE_URL, in a throw-away database created beside the configured one.

What is stored: one day of SAMPLE_NAMES names scanned SCANS_A_DAY times each, every scan with the
engine's own output for a 10,000-contract chain (bench_engine's synthetic chain through ``scan_chain``:
6 signals, 3 pairs x 2 structures, with their full JSON, the scan's notes, dropped counts and term
structure), written as a scan writes them (``Scan`` rows, ``signal_row`` bulk-created). The day's bytes
are the growth of ``pg_total_relation_size`` (table, TOAST and indexes) of scanner_scan and
scanner_signal. Then the day, now older than the window, is pruned (scanner.retention, default batch
size): the rollups' growth is what a day leaves behind for good, and the run's rows / s is the
pruning throughput.

Extrapolation, said plainly: a name's scans cost the same bytes whatever the number of names, so the
day at 2,000 names is the sample's bytes x 2,000 / SAMPLE_NAMES (B-tree indexes grow a little faster
than linearly with depth: a few percent at most at these sizes). A month is 21 sessions. With retention
the tables hold SIGNAL_RETENTION_DAYS calendar days of full rows (10 sessions in 14 days) plus the
rollups of every older session; the space of deleted rows is reused by later inserts once autovacuum
has passed, so the full-row part stays the size of the window rather than growing.

Metrics (value: with retention; baseline: keeping everything, as today):
* storage.bytes_per_day_2000_names: bytes a session adds for good.
* storage.rows_per_day_2000_names: rows a session adds for good (scans + signals; rollup rows).
* storage.bytes_per_month_2000_names: bytes held after a month of sessions.
* storage.bytes_after_a_year_2000_names: bytes held after 252 sessions.
* storage.prune_rows_per_s: scans + signals rolled up and deleted a second.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.pages import on_throwaway_postgres

SAMPLE_NAMES = 200
SCANS_A_DAY = 30
NAMES = 2_000
SESSIONS_A_MONTH = 21
SESSIONS_A_YEAR = 252
# A scan day well outside the window; "now" for pruning.
DAY = datetime(2026, 3, 4, 14, 30, tzinfo=UTC)
NOW = DAY + timedelta(days=30)
TABLES = ("scanner_scan", "scanner_signal")
ROLLUP_TABLES = ("scanner_scanday", "scanner_signalday")


def run() -> list[dict]:
    return on_throwaway_postgres(_measure, "storage")


def _measure() -> list[dict]:
    from django.conf import settings

    from scanner.models import ScanDay, SignalDay
    from scanner.retention import prune_history

    scan = _engine_scan()
    before = _bytes(TABLES)
    scans, signals = _store_a_day(scan)
    day_bytes = (_bytes(TABLES) - before) * NAMES / SAMPLE_NAMES
    rows_a_day = (scans + signals) * NAMES // SAMPLE_NAMES

    rollup_before = _bytes(ROLLUP_TABLES)
    started = time.perf_counter()
    report = prune_history(NOW)
    seconds = time.perf_counter() - started
    assert report.scans == scans and report.signals == signals and report.scans_deleted == scans
    rollup_bytes = (_bytes(ROLLUP_TABLES) - rollup_before) * NAMES / SAMPLE_NAMES
    rollup_rows = (ScanDay.objects.count() + SignalDay.objects.count()) * NAMES // SAMPLE_NAMES
    rate = (scans + signals) / seconds

    window_sessions = _sessions_in(settings.SIGNAL_RETENTION_DAYS)
    month_kept = min(window_sessions, SESSIONS_A_MONTH) * day_bytes
    month_rolled = max(SESSIONS_A_MONTH - window_sessions, 0) * rollup_bytes
    year = window_sessions * day_bytes + (SESSIONS_A_YEAR - window_sessions) * rollup_bytes
    print(
        f"   sample: {SAMPLE_NAMES} names x {SCANS_A_DAY} scans = {scans:,} scans, {signals:,} signals; "
        f"{day_bytes * SAMPLE_NAMES / NAMES / (scans + signals):,.0f} bytes a row on average\n"
        f"   at {NAMES:,} names: {rows_a_day:,} rows, {_mb(day_bytes)} a session kept whole; rolled up: "
        f"{rollup_rows:,} rows, {_mb(rollup_bytes)}\n"
        f"   pruned in {report.batches} batches of <= {settings.RETENTION_BATCH_SCANS} scans: {seconds:.2f} s, "
        f"{rate:,.0f} rows/s (a session at {NAMES:,} names: {rows_a_day / rate:,.0f} s)\n"
        f"   window {settings.SIGNAL_RETENTION_DAYS} days = {window_sessions} sessions of full rows"
    )
    return [
        _metric("storage.bytes_per_day_2000_names", rollup_bytes, day_bytes, "bytes"),
        _metric("storage.rows_per_day_2000_names", rollup_rows, rows_a_day, "rows"),
        _metric("storage.bytes_per_month_2000_names", month_kept + month_rolled, SESSIONS_A_MONTH * day_bytes, "bytes"),
        _metric("storage.bytes_after_a_year_2000_names", year, SESSIONS_A_YEAR * day_bytes, "bytes"),
        {
            "name": "storage.prune_rows_per_s",
            "value": round(rate),
            "unit": "rows/s",
            "baseline": None,
            "ratio": None,
            "goal": None,
        },
    ]


def _metric(name: str, value: float, baseline: float, unit: str) -> dict:
    return {
        "name": name,
        "value": round(value),
        "unit": unit,
        "baseline": round(baseline),
        "ratio": round(value / baseline, 4),
        "goal": None,
    }


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def _sessions_in(days: int) -> int:
    """NYSE sessions in a window of ``days`` calendar days ending on the bench's day."""
    from market.calendar import session_before

    first, count, day = (NOW - timedelta(days=days)).date(), 0, NOW.date()
    while (day := session_before(day)) >= first:
        count += 1
    return count


def _engine_scan():
    """What the engine makes of a 10,000-contract chain: the stored figures of one real scan."""
    from bench.bench_engine import synthetic_pages
    from scanner.engine.config import EngineConfig
    from scanner.engine.scan import scan_chain
    from scanner.polygon.parse import parse_snapshot_pages

    chain = parse_snapshot_pages(synthetic_pages(), "BENCH")
    scan = scan_chain(chain, EngineConfig())
    assert len(scan.signals) == 6, scan.notes
    return scan


def _store_a_day(engine) -> tuple[int, int]:
    """SAMPLE_NAMES names x SCANS_A_DAY scans of the engine's output, stored as scans store it."""
    from scanner.models import Scan, Signal
    from scanner.scanning import signal_row

    scans = signals = 0
    for n in range(SAMPLE_NAMES):
        ticker = f"N{n:03d}"
        moments = [DAY + timedelta(minutes=13 * i) for i in range(SCANS_A_DAY)]
        rows = Scan.objects.bulk_create(
            [
                Scan(
                    ticker=ticker,
                    reason=Scan.Reason.MOVE,
                    outcome=Scan.Outcome.OK,
                    task_id=uuid.uuid4().hex,
                    started_at=at,
                    finished_at=at + timedelta(seconds=1),
                    heartbeat_at=at + timedelta(seconds=1),
                    fetch_ms=410.0 + i,
                    compute_ms=8.3,
                    requests=5,
                    contracts=engine.contracts,
                    dropped=engine.dropped,
                    underlying_price=engine.underlying_price,
                    as_of=at,
                    attempts=1,
                    notes="\n".join(engine.notes),
                    term_structure=engine.term_structure,
                )
                for i, at in enumerate(moments)
            ]
        )
        stored = []
        for scan in rows:
            for signal in engine.signals:
                # Each name and moment its own figures: full-precision floats, as the engine writes them.
                wobble = 1 + (scan.pk % 97) / 9973
                data = {
                    **signal,
                    "ticker": ticker,
                    "as_of": scan.as_of.isoformat(),
                    "ff": None if signal["ff"] is None else signal["ff"] * wobble,
                }
                stored.append(signal_row(scan, data))
        Signal.objects.bulk_create(stored, batch_size=2_000)
        scans, signals = scans + len(rows), signals + len(stored)
    return scans, signals


def _bytes(tables: tuple[str, ...]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + " + ".join("pg_total_relation_size(%s)" for _ in tables),
            list(tables),
        )
        return int(cursor.fetchone()[0])
