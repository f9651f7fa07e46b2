"""Celery tasks of the track record. Thin: they call trades.exits and report a dict."""

from __future__ import annotations

from celery import shared_task

from forwardfactor.task_retry import retrying
from market.clock import market_now
from trades import exits


@shared_task(name="trades.close_due_trades", queue="scan", ignore_result=True, **retrying())
def close_due_trades() -> dict:
    """Close the paper trades whose exit time has come (by the data source's clock) at their last mark."""
    now = market_now()
    return {"closed": exits.close_due_trades(now), "at": now.isoformat()}
