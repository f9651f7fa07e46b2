"""The board's read model: each scan moves the latest signal of its ticker x pair x structure forward.

One statement per scan, inside the scan's transaction: an INSERT .. ON CONFLICT DO UPDATE whose update
only applies when the incoming signal is at least as fresh as the stored one. Django's
``bulk_create(update_conflicts=True)`` writes the same upsert but cannot carry that condition, and
without it a scan retried or redelivered late (an older chain) would put stale figures back on the
board.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection

from scanner.models import LatestSignal, Signal

KEY = ("ticker", "pair", "structure")


def latest_row(signal: Signal) -> LatestSignal:
    """The board's row for a stored signal: the figures it filters and sorts on, as columns."""
    data = signal.data
    earnings = sorted(data.get("earnings_dates") or [])
    return LatestSignal(
        ticker=signal.ticker,
        pair=signal.pair,
        structure=signal.structure,
        signal_id=signal.pk,
        scan_id=signal.scan_id,
        front_expiry=signal.front_expiry,
        back_expiry=signal.back_expiry,
        ff=signal.ff,
        ff_ex_earnings=data.get("ff_ex_earnings"),
        forward_iv=data.get("forward_iv"),
        spread_cost_pct=data.get("spread_cost_pct"),
        passes_liquidity=signal.passes_liquidity,
        reasons=list(data.get("reasons") or []),
        earnings_date=date.fromisoformat(earnings[0]) if earnings else None,
        as_of=signal.as_of,
    )


def record_latest(signals: Iterable[Signal]) -> int:
    """Upsert the board's rows of ``signals`` (stored, with their ids); returns the rows written.

    A row is replaced only by a signal whose data is as fresh or fresher (``as_of``)."""
    freshest: dict[tuple[str, str, str], Signal] = {}
    for signal in signals:
        key = (signal.ticker, signal.pair, signal.structure)
        if key not in freshest or freshest[key].as_of <= signal.as_of:
            freshest[key] = signal  # one statement may not touch a row twice
    if not freshest:
        return 0
    rows = [latest_row(signal) for signal in freshest.values()]
    fields = [f for f in LatestSignal._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(LatestSignal._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    updates = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields if f.name not in KEY)
    as_of = quote(LatestSignal._meta.get_field("as_of").column)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([one_row] * len(rows))} "
        f"ON CONFLICT ({', '.join(quote(name) for name in KEY)}) DO UPDATE SET {updates} "
        f"WHERE {table}.{as_of} <= EXCLUDED.{as_of}"
    )
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
