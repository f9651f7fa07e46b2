"""The simulated names' earnings reports: the seeded front-month event of an `ff_bump` name is its
earnings, announced before the open of the event's session or after the close of the session before
(either way that session's open carries the news), as the vendor's earnings calendar lists it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from marketsim.options import ChainListing
from marketsim.randomness import derive_rng
from marketsim.session import NEW_YORK, is_session

BEFORE_OPEN_TIMES = ("06:00:00", "06:30:00", "07:00:00", "07:30:00", "08:00:00", "08:30:00")
AFTER_CLOSE_TIMES = ("16:01:00", "16:05:00", "16:10:00", "16:15:00", "16:30:00")
CONFIRMED_SHARE = 0.7  # a report due within three weeks is usually confirmed by the company


@dataclass(frozen=True)
class EarningsReport:
    symbol: str
    date: date
    time: str  # HH:MM:SS, New York
    confirmed: bool
    fiscal_period: str
    fiscal_year: int
    importance: int
    estimated_eps: float
    event_session: date  # the session whose open moves on it (where the listing's event sits)


def earnings_report(seed: int, listing: ChainListing, session_date: date) -> EarningsReport | None:
    """The report behind the listing's front-month event; None for a name without one."""
    if listing.event_epoch == float("inf"):
        return None
    event_session = datetime.fromtimestamp(listing.event_epoch, NEW_YORK).date()
    rng = derive_rng(seed, listing.symbol, session_date.toordinal(), "earnings")
    day, time = event_session, str(rng.choice(BEFORE_OPEN_TIMES))
    before = _session_before(event_session)
    if rng.uniform() < 0.5 and before >= session_date:
        day, time = before, str(rng.choice(AFTER_CLOSE_TIMES))
    quarter = (day.month - 1) // 3  # the quarter just ended: 0 means Q4 of the year before
    return EarningsReport(
        symbol=listing.symbol,
        date=day,
        time=time,
        confirmed=bool(rng.uniform() < CONFIRMED_SHARE),
        fiscal_period=f"Q{quarter or 4}",
        fiscal_year=day.year if quarter else day.year - 1,
        importance=int(rng.integers(1, 6)),
        estimated_eps=round(float(rng.normal(0.8, 0.9)), 2),
        event_session=event_session,
    )


def _session_before(day: date) -> date:
    day -= timedelta(days=1)
    while not is_session(day):
        day -= timedelta(days=1)
    return day
