"""The engine's input: one underlying's option chain as columnar numpy arrays.

Built by ``scanner.polygon.parse`` from the vendor's snapshot pages (or by tests and the simulated
market directly); the engine never sees vendor JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class OptionChain:
    """One row per contract; optional vendor fields are NaN when absent.

    expiry:        datetime64[D] expiration dates
    strike:        float64
    is_call:       bool
    bid, ask:      float64 quote (rows with zero, negative or crossed quotes are dropped by the parser)
    vendor_iv:     float64 vendor implied volatility or NaN
    vendor_delta:  float64 vendor delta or NaN
    open_interest: float64 (previous day's close) or NaN
    volume:        float64 day volume or NaN
    quote_time_ns: int64 nanoseconds since epoch of the last quote, 0 when unknown
    as_of:         the snapshot's own timestamp (UTC, timezone-aware): the newest quote or
                   underlying timestamp seen in the snapshot
    dropped:       rows the parser refused, counted by reason (e.g. {"crossed_quote": 3})
    """

    ticker: str
    underlying_price: float
    as_of: datetime
    expiry: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    vendor_iv: np.ndarray
    vendor_delta: np.ndarray
    open_interest: np.ndarray
    volume: np.ndarray
    quote_time_ns: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.strike.shape[0])
