"""Stored history of a ticker as scans leave it: days of scans, each with every pair as both structures and its
term structure. The browser tests draw their charts from it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from scanner.models import Scan
from testing.factories import saved_signals, signal_dict

LAST = datetime.fromisoformat("2026-03-04T20:30:00+00:00")
DAYS, SCANS_A_DAY = 20, 4
PAIRS = ((30, 60), (30, 90), (60, 90))
EXPIRY_DTES = (9, 16, 23, 30, 44, 60, 74, 90, 121, 151, 184, 247, 338)


def atm_iv(dte: int, day: int, scan: int) -> float:
    """A plausible, gently moving term structure: a rich front month decaying to a long-run level."""
    wave = 0.03 * math.sin((day * SCANS_A_DAY + scan) / 7)
    return 0.30 + (0.16 + wave) * math.exp(-dte / 45)


def forward_vol(front: int, back: int, day: int, scan: int) -> tuple[float, float, float]:
    near, far = atm_iv(front, day, scan), atm_iv(back, day, scan)
    forward = math.sqrt((far**2 * back - near**2 * front) / (back - front))
    return near, far, forward


def store_scans(ticker: str) -> None:
    """DAYS days of SCANS_A_DAY scans, each with every pair as both structures and its term structure."""
    for day in range(DAYS):
        for scan in range(SCANS_A_DAY):
            as_of = LAST - timedelta(days=DAYS - 1 - day, hours=1.5 * (SCANS_A_DAY - 1 - scan))
            signals = []
            for front, back in PAIRS:
                near, far, forward = forward_vol(front, back, day, scan)
                for structure, offset in (("atm_call_calendar", 0.0), ("double_calendar", -0.02)):
                    signal = signal_dict(
                        ticker, structure=structure, pair=f"{front}-{back}", ff=near / forward - 1 + offset, as_of=as_of
                    )
                    signal.update(front_iv=round(near, 4), back_iv=round(far, 4), forward_iv=round(forward, 4))
                    signals.append(signal)
            (first, *_) = saved_signals(*signals)
            term = [
                {
                    "expiry": (as_of.date() + timedelta(days=dte)).isoformat(),
                    "dte": dte,
                    "atm_iv": round(atm_iv(dte, day, scan), 4),
                    "source": "chain" if dte in (30, 60, 90) else "probe",
                }
                for dte in EXPIRY_DTES
            ]
            Scan.objects.filter(pk=first.scan_id).update(as_of=as_of, finished_at=as_of, term_structure=term)
