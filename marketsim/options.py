"""Option chains: the day's listing (expiries, strikes, open interest) and its live valuation.

The listing is fixed for the session (strikes are listed from the previous close); prices, IVs and
greeks follow the underlying and the clock. IV has a skewed smile and a term structure: mostly
contango, some backwardation, and for `ff_bump` names an event in the front month whose variance
makes the 30-60 Forward Factor equal the bump.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from marketsim.bsm import value
from marketsim.pricepath import intraday_volume_share
from marketsim.randomness import derive_rng
from marketsim.session import at_new_york, is_session
from marketsim.universe import TickerProfile

RISK_FREE_RATE = 0.04
SECONDS_PER_YEAR = 365 * 86_400.0
MIN_YEARS = 60.0 / SECONDS_PER_YEAR
TERM_DECAY_YEARS = 0.3
SMILE_CURVATURE = 0.025


def _trading_day_on_or_before(day: date) -> date:
    while not is_session(day):
        day -= timedelta(days=1)
    return day


def third_friday(year: int, month: int) -> date:
    first_weekday = calendar.weekday(year, month, 1)
    return date(year, month, 1 + (4 - first_weekday) % 7 + 14)


def _months_ahead(start: date, count: int) -> list[tuple[int, int]]:
    return [((start.year * 12 + start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1) for k in range(count)]


def listed_expiries(session_date: date, expiry_class: str) -> list[date]:
    """Dailies (index funds), weeklies (Fridays, big names), monthlies (third Friday), the quarterly
    cycle and January LEAPs; a holiday Friday expires the session before."""
    candidates: set[date] = set()
    monthly_count, weekly_count, leap_years = {"daily": (13, 10, 3), "weekly": (9, 9, 2), "monthly": (5, 0, 1)}[
        expiry_class
    ]
    for year, month in _months_ahead(session_date, monthly_count):
        candidates.add(third_friday(year, month))
    for year, month in _months_ahead(session_date, 24):
        if month in (3, 6, 9, 12) and (expiry_class != "monthly" or len(candidates) < 8):
            candidates.add(third_friday(year, month))
            if expiry_class == "daily":
                last_day = date(year, month, calendar.monthrange(year, month)[1])
                candidates.add(_trading_day_on_or_before(last_day))
        if expiry_class == "monthly" and len(candidates) >= 8:
            break
    for offset in range(1, leap_years + 1):
        candidates.add(third_friday(session_date.year + offset, 1))
        if expiry_class == "daily":
            candidates.add(third_friday(session_date.year + offset, 6))
            candidates.add(third_friday(session_date.year + offset, 12))
    friday = session_date + timedelta(days=(4 - session_date.weekday()) % 7)
    for week in range(weekly_count):
        candidates.add(friday + timedelta(weeks=week))
    if expiry_class == "daily":
        day, added = session_date, 0
        while added < 10:
            if day.weekday() < 5:
                candidates.add(day)
                added += 1
            day += timedelta(days=1)
    shifted = {_trading_day_on_or_before(day) if day.weekday() == 4 else day for day in candidates}
    return sorted(day for day in shifted if day >= session_date and is_session(day))


def _strike_steps(price: float, big: bool) -> tuple[float, float]:
    if price < 5:
        return 0.5, 0.5
    if price < 25:
        return 0.5, 2.5
    if price < 100:
        return 1.0, 5.0
    if price < 250:
        return (1.0, 5.0) if big else (2.5, 10.0)
    return (1.0, 5.0) if big else (5.0, 10.0)


def strike_grid(price: float, volatility: float, years: float, big: bool) -> np.ndarray:
    fine, coarse = _strike_steps(price, big)
    spread = volatility * np.sqrt(max(years, 7 / 365))
    if years > 0.5:
        fine = coarse
    fine_half = price * min(max(0.04, 1.5 * spread), 0.15)
    coarse_half = price * min(max(0.12, 3.5 * spread), 0.6)
    near = np.arange(np.ceil((price - fine_half) / fine), np.floor((price + fine_half) / fine) + 1) * fine
    far = np.arange(np.ceil((price - coarse_half) / coarse), np.floor((price + coarse_half) / coarse) + 1) * coarse
    strikes = np.unique(np.round(np.concatenate((near, far)), 2))
    return strikes[strikes > 0]


def base_atm_vol(profile: TickerProfile, years: np.ndarray) -> np.ndarray:
    slope = 1.0 + profile.term_slope * (1.0 - np.exp(-years / TERM_DECAY_YEARS))
    return profile.volatility * profile.iv_level * slope


def _expiry_close_epoch(day: date) -> float:
    return at_new_york(day, 16).timestamp()


@dataclass(frozen=True)
class ChainListing:
    """One row per listed contract in the vendor's ticker order (expiry, call before put, strike)."""

    symbol: str
    expiries: list[date]
    expiry_close: np.ndarray  # epoch seconds of 16:00 New York on each expiry
    expiry_index: np.ndarray
    expiry: np.ndarray  # datetime64[D]
    strike: np.ndarray
    is_call: np.ndarray
    open_interest: np.ndarray
    full_day_volume: np.ndarray
    draws: np.ndarray  # per-row uniforms: [iv missing, quote lag, bid size, ask size, day bar]
    event_epoch: float
    event_variance: float

    def __len__(self) -> int:
        return int(self.strike.size)

    def occ_ticker(self, row: int) -> str:
        expiry = self.expiries[int(self.expiry_index[row])]
        side = "C" if self.is_call[row] else "P"
        return f"O:{self.symbol}{expiry:%y%m%d}{side}{int(round(float(self.strike[row]) * 1000)):08d}"


def _event(
    profile: TickerProfile, session_date: date, expiries: list[date], reference_epoch: float, rng: np.random.Generator
) -> tuple[float, float]:
    """An event (earnings-like) before the front expiry of the 30-60 pair, sized so that pair's FF
    equals the profile's bump. The event's variance cancels in the forward volatility."""
    if profile.ff_bump is None or len(expiries) < 2:
        return float("inf"), 0.0
    dte = np.array([(day - session_date).days for day in expiries])
    front, back = expiries[int(np.argmin(np.abs(dte - 30)))], expiries[int(np.argmin(np.abs(dte - 60)))]
    if back <= front or (front - session_date).days < 4:
        return float("inf"), 0.0
    years = (np.array([_expiry_close_epoch(front), _expiry_close_epoch(back)]) - reference_epoch) / SECONDS_PER_YEAR
    base = base_atm_vol(profile, years)
    forward_var = (base[1] ** 2 * years[1] - base[0] ** 2 * years[0]) / (years[1] - years[0])
    front_vol = (1.0 + profile.ff_bump) * np.sqrt(forward_var)
    variance = float((front_vol**2 - base[0] ** 2) * years[0])
    latest = min((front - session_date).days - 1, 21)
    days = [d for d in range(2, latest + 1) if is_session(session_date + timedelta(days=d))]
    event_day = session_date + timedelta(days=int(rng.choice(days)))
    return at_new_york(event_day, 9, 30).timestamp(), max(variance, 0.0)


def listing_years(expiries: list[date], reference_epoch: float) -> np.ndarray:
    closes = np.array([_expiry_close_epoch(day) for day in expiries])
    return np.maximum((closes - reference_epoch) / SECONDS_PER_YEAR, MIN_YEARS)


def day_strikes(profile: TickerProfile, session_date: date, reference_epoch: float) -> dict[date, np.ndarray]:
    """The strikes a session lists from its previous close (`profile.price`), per listed expiry."""
    expiries = listed_expiries(session_date, profile.expiry_class)
    big = profile.expiry_class != "monthly"
    return {
        day: strike_grid(profile.price, profile.volatility, float(years), big)
        for day, years in zip(expiries, listing_years(expiries, reference_epoch))
    }


def build_listing(
    seed: int,
    profile: TickerProfile,
    session_date: date,
    reference_epoch: float,
    strikes: dict[date, np.ndarray] | None = None,
    event: tuple[float, float] | None = None,
) -> ChainListing:
    """The session's listing. On a later day of a run, `strikes` are every strike listed so far per
    expiry (an exchange adds strikes as the price moves, never removes one before expiry) and
    `event` is the run's (epoch, variance): both stay put while open interest and draws are the day's."""
    rng = derive_rng(seed, profile.symbol, session_date.toordinal(), "chain")
    expiries = listed_expiries(session_date, profile.expiry_class)
    closes = np.array([_expiry_close_epoch(day) for day in expiries])
    years_all = listing_years(expiries, reference_epoch)
    listed = strikes or day_strikes(profile, session_date, reference_epoch)
    parts: list[tuple[np.ndarray, ...]] = []
    for index, (day, years) in enumerate(zip(expiries, years_all)):
        strikes_here = listed[day]
        count = strikes_here.size
        spread = profile.volatility * np.sqrt(max(years, 7 / 365))
        z = np.log(strikes_here / profile.price) / spread
        weight = (1.0 if day == third_friday(day.year, day.month) else 0.35) / (1.0 + years)
        atm_interest = max(profile.avg_volume * 0.0006, 20.0) * weight
        interest = atm_interest * np.exp(-(z**2) / (2 * 1.3**2)) * rng.lognormal(0.0, 0.6, (2, count))
        near_term = 2.0 if (day - session_date).days < 10 else 1.0
        volume = interest * 0.12 * near_term * np.exp(-(z**2) / 2) * rng.lognormal(0.0, 0.8, (2, count))
        for side, call in ((0, True), (1, False)):
            parts.append(
                (
                    np.full(count, index),
                    strikes_here,
                    np.full(count, call),
                    np.where(interest[side] < 1, 0, np.round(interest[side])),
                    np.where(volume[side] < 1, 0, np.round(volume[side])),
                )
            )
    expiry_index, strike, is_call, interest, volume = (np.concatenate(column) for column in zip(*parts))
    event_epoch, event_variance = event or _event(profile, session_date, expiries, reference_epoch, rng)
    expiry_days = np.array(expiries, dtype="datetime64[D]")
    return ChainListing(
        symbol=profile.symbol,
        expiries=expiries,
        expiry_close=closes,
        expiry_index=expiry_index.astype(np.int64),
        expiry=expiry_days[expiry_index.astype(np.int64)],
        strike=strike.astype(np.float64),
        is_call=is_call.astype(bool),
        open_interest=interest.astype(np.int64),
        full_day_volume=volume.astype(np.int64),
        draws=rng.uniform(size=(strike.size, 5)),
        event_epoch=event_epoch,
        event_variance=event_variance,
    )


@dataclass(frozen=True)
class PricedRows:
    iv: np.ndarray
    iv_present: np.ndarray
    theo: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray
    day_volume: np.ndarray
    quote_ns: np.ndarray


def atm_vol(profile: TickerProfile, listing: ChainListing, expiry_index: np.ndarray, years: np.ndarray, now: float):
    base = base_atm_vol(profile, years)
    after_event = (listing.expiry_close[expiry_index] > listing.event_epoch) & (now < listing.event_epoch)
    return np.sqrt(base**2 + np.where(after_event, listing.event_variance, 0.0) / years)


def _liquidity_multiplier(profile: TickerProfile) -> float:
    return float(np.clip((3e6 / max(profile.avg_volume, 1)) ** 0.35, 0.6, 5.0))


def price_rows(
    profile: TickerProfile,
    listing: ChainListing,
    rows: np.ndarray,
    spot: float,
    now: float,
    session_open: float,
    session_close: float,
) -> PricedRows:
    expiry_index = listing.expiry_index[rows]
    strike, is_call, draws = listing.strike[rows], listing.is_call[rows], listing.draws[rows]
    years = np.maximum((listing.expiry_close[expiry_index] - now) / SECONDS_PER_YEAR, MIN_YEARS)
    atm = atm_vol(profile, listing, expiry_index, years, now)
    forward = spot * np.exp(RISK_FREE_RATE * years)
    z = np.clip(np.log(strike / forward) / (atm * np.sqrt(years)), -4.0, 4.0)
    iv = np.maximum(atm * (1.0 - profile.skew * z + SMILE_CURVATURE * z * z), 0.5 * atm)
    valuation = value(spot, strike, years, iv, RISK_FREE_RATE, is_call)
    theo = np.maximum(valuation.price, 0.0)
    big = profile.expiry_class != "monthly"
    tick = np.where((theo < 3.0) | big, 0.01, 0.05)
    relative_half = (0.006 + 0.012 * np.abs(z) + 0.01 * np.sqrt(years)) * _liquidity_multiplier(profile)
    half = np.maximum(theo * relative_half, 0.5 * tick)
    bid = np.floor((theo - half) / tick + 1e-9) * tick
    bid = np.where(bid < tick, 0.0, np.round(bid, 2))
    ask = np.round(np.maximum(np.ceil((theo + half) / tick - 1e-9) * tick, bid + tick), 2)
    iv_present = (draws[:, 0] >= 0.03) & (bid > 0) & (np.abs(valuation.delta) < 0.985)
    share = intraday_volume_share((now - session_open) / max(session_close - session_open, 1.0))
    day_volume = np.floor(listing.full_day_volume[rows] * share).astype(np.int64)
    quiet = listing.full_day_volume[rows] == 0
    lag_seconds = draws[:, 1] * np.where(quiet, 900.0, 4.0)
    quote_epoch = np.maximum(now - lag_seconds, min(session_open, now))
    return PricedRows(
        iv=iv,
        iv_present=iv_present,
        theo=theo,
        bid=bid,
        ask=ask,
        bid_size=(1 + draws[:, 2] * 400).astype(np.int64),
        ask_size=(1 + draws[:, 3] * 400).astype(np.int64),
        delta=valuation.delta,
        gamma=valuation.gamma,
        theta=valuation.theta,
        vega=valuation.vega,
        day_volume=day_volume,
        quote_ns=(quote_epoch * 1e9).astype(np.int64),
    )
