"""Signals with chosen quotes, stored the way a scan stores them (the hook included)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from scanner.engine import FFSignal
from scanner.engine.costs import spread_costs
from scanner.models import Scan, Signal
from scanner.scanning import signals_stored
from testing.factories import AS_OF, saved_signals, signal_dict

# Bid and ask per leg: a mid debit of 4.20 - 2.95 = 1.25 a share, a natural of 4.30 - 2.90 = 1.40.
ENTRY = {"front_call": (2.90, 3.00), "back_call": (4.10, 4.30), "front_put": (2.40, 2.50), "back_put": (3.50, 3.70)}


def quoted(signal: FFSignal, quotes: Mapping[str, tuple[float, float]] = ENTRY) -> FFSignal:
    """``signal`` with these bids and asks on its legs and its costs recomputed from them (as the engine
    does); a double calendar's put legs sit at its put strike."""
    for leg in signal["legs"]:
        bid, ask = quotes[leg["leg"]]
        leg["bid"], leg["ask"], leg["mid"] = bid, ask, round((bid + ask) / 2, 4)
        if leg["contract_type"] == "put":
            leg["strike"] = signal["put_strike"]
    signal.update(spread_costs(signal["legs"]))
    return signal


def qualifying(
    structure: str = "atm_call_calendar", as_of: datetime = AS_OF, quotes: Mapping = ENTRY, **kwargs
) -> FFSignal:
    """A signal the reference rule trades (FF 0.30, liquid, fresh) unless ``kwargs`` say otherwise."""
    return quoted(signal_dict(structure=structure, as_of=as_of, **kwargs), quotes)


def store(*signals: FFSignal) -> tuple[Scan, list[Signal]]:
    """A scan's signals saved and announced to the apps inside one transaction, as scanning does."""
    with transaction.atomic():
        rows = saved_signals(*signals)
        scan = rows[0].scan
        responses = signals_stored.send(sender=Scan, scan=scan, signals=rows)
    assert all(n is None for receiver, n in responses if receiver.__module__ == "trades.service")
    return scan, rows


def later(signal: FFSignal, at: datetime, quotes: Mapping[str, tuple[float, float]]) -> FFSignal:
    """The same spread quoted again at ``at`` (same expiries and strikes), with new quotes."""
    again = quoted({**signal, "legs": [dict(leg) for leg in signal["legs"]], "flags": list(signal["flags"])}, quotes)
    again["as_of"] = at.isoformat()
    return again
