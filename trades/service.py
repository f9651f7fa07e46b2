"""The track record's hook onto the scan service: open, mark and close paper trades from each scan.

``scanner.scanning.signals_stored`` calls ``trade_stored_signals`` inside the scan's transaction, so a
scan's trades commit with its signals. In order: mark the ticker's open trades from the scan's quotes
(take-profit at a mark), close those whose exit time has come by the scan's clock (at the fresh mark),
then open the trades of the qualifying signals (never marked by their own scan). The receiver returns
None: the scan counts the alerts its receivers created, and a paper trade is not an alert.

A bug in the track record must not cost anyone their alert: anything but a lost database or Redis
connection is logged and the scan goes on (its trades' savepoint rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from forwardfactor.task_retry import TRANSIENT_INFRA_ERRORS
from scanner import scanning
from scanner.models import Scan, Signal
from trades.exits import close_due_trades
from trades.marking import mark_open_trades
from trades.opening import open_trades

logger = logging.getLogger(__name__)


def trade_signals(scan: Scan, signals: Sequence[Signal]) -> None:
    if not signals:
        return
    mark_open_trades(scan, signals)
    close_due_trades(signals[0].as_of, ticker=scan.ticker)
    open_trades(signals)


def trade_stored_signals(sender, scan: Scan, signals: Sequence[Signal], **kwargs) -> None:
    try:
        with transaction.atomic():
            trade_signals(scan, signals)
    except TRANSIENT_INFRA_ERRORS:
        raise
    except Exception:
        logger.exception("paper trades of scan %s (%s) not recorded", scan.pk, scan.ticker)
    return None  # not an alert: the scan's alert count stays the alerts'


def connect() -> None:
    scanning.signals_stored.connect(trade_stored_signals, sender=Scan, dispatch_uid="trades.trade_stored_signals")
