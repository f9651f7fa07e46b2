"""Celery tasks of the track record. Thin: they call trades.exits / trades.daily_marks and report a dict."""

from __future__ import annotations

import smtplib

from celery import shared_task

from forwardfactor.task_retry import retrying
from market.clock import market_now
from scanner.polygon.errors import TransientError
from trades import daily_marks, exits, reminders


@shared_task(name="trades.close_due_trades", queue="scan", ignore_result=True, **retrying())
def close_due_trades() -> dict:
    """Close the paper trades whose exit time has come (by the data source's clock) at their last mark."""
    now = market_now()
    return {"closed": exits.close_due_trades(now), "at": now.isoformat()}


@shared_task(
    bind=True,
    name="trades.send_reminders",
    queue="notify",
    ignore_result=True,
    **retrying(smtplib.SMTPException, OSError),
)
def send_reminders(self) -> dict:
    """Send the placed trades' exit reminders that are due (by the data source's clock), each once.

    The claim is this task's id: its retries (same id) send what it claimed and did not send yet.
    """
    now = market_now()
    token = self.request.id or f"eager-{now.isoformat()}"
    return {**reminders.send_due_reminders(now, token), "at": now.isoformat()}


@shared_task(name="trades.mark_open_trades", queue="scan", ignore_result=True, **retrying(TransientError))
def mark_open_trades() -> dict:
    """Near the close (by the data source's clock): fetch the open trades' legs, mark them, close the due
    ones. Outside a session, or earlier in it, nothing."""
    now = market_now()
    since = daily_marks.mark_window_start(now)
    if since is None:
        return {"skipped": "not in the daily mark window", "at": now.isoformat()}
    return {**daily_marks.mark_open_trades(now, since=since).as_dict(), "at": now.isoformat()}
