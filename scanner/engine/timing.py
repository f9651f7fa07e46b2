"""Time to expiry: from the snapshot's own timestamp to 16:00 New York on the expiry date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

NEW_YORK = ZoneInfo("America/New_York")
SECONDS_PER_YEAR = 31_536_000.0
EXPIRY_CLOSE = time(16, 0)


def require_aware(as_of: datetime) -> datetime:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no timezone; pass an aware datetime")
    return as_of


def trading_date(as_of: datetime) -> date:
    """The New York calendar date of a moment: DTE counts from it."""
    return require_aware(as_of).astimezone(NEW_YORK).date()


def expiry_close_epoch(expiry: date) -> float:
    """Seconds since the epoch of 16:00 New York on the expiry date (DST-aware)."""
    return datetime.combine(expiry, EXPIRY_CLOSE, tzinfo=NEW_YORK).timestamp()


def years_to_expiry(expiries: np.ndarray, as_of: datetime) -> np.ndarray:
    """Years of 365 days from as_of to each expiry's close; <= 0 once it has expired.

    Only the distinct dates go through the timezone database, so a whole chain costs a few dozen calls.
    """
    now = require_aware(as_of).timestamp()
    days = np.asarray(expiries, dtype="datetime64[D]")
    distinct, inverse = np.unique(days, return_inverse=True)
    closes = np.array([expiry_close_epoch(d.item()) for d in distinct], dtype=np.float64)
    return ((closes - now) / SECONDS_PER_YEAR)[inverse]


def utc_from_ns(nanoseconds: int) -> datetime:
    return datetime.fromtimestamp(nanoseconds / 1e9, tz=UTC)
