"""The service's reference rule (DESIGN.md §11): which stored signals the track record trades.

A signal qualifies when its FF, the ex-earnings FF when earnings fall inside the window, is at least
``TRADES_MIN_FF``; every leg passes the engine's liquidity floors; its quotes are fresh (the engine
flags ``stale_quotes`` when a leg was quoted longer than ``STALE_QUOTE_MINUTES`` ago); and opening it
costs a positive debit at the mid (else a return on the debit means nothing).
"""

from __future__ import annotations

from collections.abc import Mapping


def reference_ff(signal: Mapping) -> float | None:
    """The FF the rule judges: ex-earnings when earnings fall in the window (None when unknown)."""
    if "earnings_in_window" in signal["flags"]:
        return signal["ff_ex_earnings"]
    return signal["ff"]


def earnings_in_window(signal: Mapping) -> bool:
    return "earnings_in_window" in signal["flags"]


def rejections(signal: Mapping, min_ff: float) -> list[str]:
    """Why the rule does not trade ``signal``; empty when it does."""
    reasons = []
    ff = reference_ff(signal)
    label = "ex-earnings FF" if earnings_in_window(signal) else "FF"
    if ff is None:
        reasons.append(f"no {label}")
    elif ff < min_ff:
        reasons.append(f"{label} {ff:.2f} < {min_ff:.2f}")
    if not signal["passes_liquidity"]:
        reasons.append("a leg fails the liquidity floors")
    if "stale_quotes" in signal["flags"]:
        reasons.append("stale quotes")
    if not signal["debit"] > 0:
        reasons.append("no positive debit at the mid")
    return reasons
