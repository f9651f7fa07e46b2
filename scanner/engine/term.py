"""The term structure of a scan: one ATM implied volatility per listed expiry, up to a year out.

Two sources, best first: ``chain`` is the engine's own ATM IV at the forward of an expiry the scan
fetched (scanner.engine.scan); ``probe`` is the near-the-money IV the day's expiry probe saw for an
expiry the scan did not fetch (one call at a standard strike near spot, refreshed whenever a scan
fetched that expiry: scanner.chain_source), a cheaper and rougher figure, labelled as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal, TypedDict

TERM_STRUCTURE_MAX_DTE = 365

TermSource = Literal["chain", "probe"]


class TermPoint(TypedDict):
    expiry: str  # ISO date
    dte: int  # calendar days from the scan's trading date
    atm_iv: float  # 0.2534 = 25.34 %
    source: TermSource


def term_structure(chain_iv: Mapping[date, float], probe_iv: Mapping[date, float], today: date) -> list[TermPoint]:
    """Every expiry 1 to TERM_STRUCTURE_MAX_DTE days out with an IV, by date; the chain's figure wins."""
    points: list[TermPoint] = []
    for expiry in sorted(set(chain_iv) | set(probe_iv)):
        dte = (expiry - today).days
        if not 1 <= dte <= TERM_STRUCTURE_MAX_DTE:
            continue
        source: TermSource = "chain" if expiry in chain_iv else "probe"
        iv = chain_iv[expiry] if source == "chain" else probe_iv[expiry]
        if iv == iv and iv > 0:  # NaN is not equal to itself
            points.append({"expiry": expiry.isoformat(), "dte": dte, "atm_iv": round(iv, 4), "source": source})
    return points
