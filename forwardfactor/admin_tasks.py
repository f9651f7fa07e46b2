"""Background work started from an operator's click in the admin, and a truthful word on what happened.

With a broker (REDIS_URL) the work is queued and a worker does it later; on embedded defaults Celery is
eager and the work has already run inside the request. The admin's message says which: "queued" for
work that already ran, or "done" for work still waiting in a queue, would both mislead the operator.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import current_app

SCAN_TICKER = "scanner.tasks.scan_ticker"


def runs_in_request() -> bool:
    """True when tasks run eagerly, inside the caller (embedded defaults: no broker)."""
    return bool(current_app.conf.task_always_eager)


def ran_or_queued(ran: str, queued: str) -> str:
    return ran if runs_in_request() else queued


def start_by_name(name: str, args: list, queue: str) -> bool:
    """Start a task its caller may not import (accounts sits below scanner, DESIGN.md §2); False if it
    ran here and failed (its own records say why).

    ``send_task`` only ever publishes, even on eager Celery where no worker takes the message: there
    the registered task is applied in place, its error kept from turning the page into a 500."""
    if not runs_in_request():
        current_app.send_task(name, args=args, queue=queue)
        return True
    current_app.loader.import_default_modules()  # the task modules a worker imports when it starts
    return not current_app.tasks[name].apply(args=args, throw=False).failed()


def scan_now(symbols: Iterable[str]) -> str:
    """One manual scan per distinct ticker (no market-hours gate); the operator's message."""
    tickers = sorted(set(symbols))
    failed = [ticker for ticker in tickers if not start_by_name(SCAN_TICKER, [ticker, "manual"], queue="scan")]
    if failed:
        return f"Scanned {len(tickers)} ticker(s); {', '.join(failed)} failed (see Scans)."
    return ran_or_queued(f"Scanned {len(tickers)} ticker(s).", f"Queued {len(tickers)} scan(s).")
