"""Chains priced by Black–Scholes–Merton from a volatility surface we choose, as OptionChain or as
Polygon snapshot pages, so every figure the engine reports can be checked against the surface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np

from scanner.engine.bsm import bsm_delta, bsm_price
from scanner.engine.chain import OptionChain
from scanner.engine.timing import trading_date, years_to_expiry

AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday, 10:00 New York
RATE = 0.045

Surface = Callable[[int, np.ndarray], np.ndarray]


def flat(vol: float) -> Surface:
    return lambda dte, strikes: np.full(strikes.shape, vol)


def term(vols: dict[int, float]) -> Surface:
    """A flat smile per expiry, given by DTE."""
    return lambda dte, strikes: np.full(strikes.shape, vols[dte])


def build_chain(
    dtes: list[int],
    strikes: np.ndarray,
    surface: Surface,
    spot: float = 100.0,
    as_of: datetime = AS_OF,
    half_spread: float = 0.01,
    open_interest: float = 1000.0,
    volume: float = 100.0,
    vendor_iv: bool = False,
    vendor_delta: bool = False,
    ticker: str = "TEST",
) -> OptionChain:
    today = trading_date(as_of)
    rows: dict[str, list] = {k: [] for k in ("expiry", "strike", "is_call", "vol")}
    for dte in dtes:
        vols = surface(dte, strikes)
        for is_call in (True, False):
            rows["expiry"] += [np.datetime64(today + timedelta(days=dte), "D")] * len(strikes)
            rows["strike"] += list(strikes)
            rows["is_call"] += [is_call] * len(strikes)
            rows["vol"] += list(vols)
    expiry = np.array(rows["expiry"], dtype="datetime64[D]")
    strike = np.array(rows["strike"], dtype=np.float64)
    is_call = np.array(rows["is_call"])
    vol = np.array(rows["vol"])
    years = years_to_expiry(expiry, as_of)
    mid = bsm_price(spot, strike, years, vol, is_call, RATE)
    quoted = mid - half_spread > 0  # the parser drops zero bids; so do we
    expiry, strike, is_call, vol, years, mid = (a[quoted] for a in (expiry, strike, is_call, vol, years, mid))
    n = len(strike)
    nan = np.full(n, np.nan)
    return OptionChain(
        ticker=ticker,
        underlying_price=spot,
        as_of=as_of,
        expiry=expiry,
        strike=strike,
        is_call=is_call,
        bid=mid - half_spread,
        ask=mid + half_spread,
        vendor_iv=vol.copy() if vendor_iv else nan.copy(),
        vendor_delta=bsm_delta(spot, strike, years, vol, is_call, RATE) if vendor_delta else nan.copy(),
        open_interest=np.full(n, float(open_interest)),
        volume=np.full(n, float(volume)),
        quote_time_ns=np.full(n, int(as_of.timestamp() * 1e9), dtype=np.int64),
    )


def to_pages(chain: OptionChain, page_size: int = 250) -> list[dict]:
    """The chain in Polygon's snapshot shape, split in pages the way the vendor pages it."""
    results = []
    stamp = int(chain.as_of.timestamp() * 1e9)
    for i in range(len(chain)):
        expiry: date = chain.expiry[i].item()
        kind = "C" if chain.is_call[i] else "P"
        row = {
            "details": {
                "contract_type": "call" if chain.is_call[i] else "put",
                "exercise_style": "american",
                "expiration_date": expiry.isoformat(),
                "shares_per_contract": 100,
                "strike_price": float(chain.strike[i]),
                "ticker": f"O:{chain.ticker}{expiry:%y%m%d}{kind}{int(round(chain.strike[i] * 1000)):08d}",
            },
            "last_quote": {
                "bid": float(chain.bid[i]),
                "ask": float(chain.ask[i]),
                "midpoint": float((chain.bid[i] + chain.ask[i]) / 2),
                "last_updated": stamp,
                "timeframe": "REAL-TIME",
            },
            "open_interest": float(chain.open_interest[i]),
            "day": {"volume": float(chain.volume[i]), "close": 1.0},
            "underlying_asset": {"price": chain.underlying_price, "ticker": chain.ticker, "last_updated": stamp},
        }
        if np.isfinite(chain.vendor_iv[i]):
            row["implied_volatility"] = float(chain.vendor_iv[i])
        if np.isfinite(chain.vendor_delta[i]):
            row["greeks"] = {"delta": float(chain.vendor_delta[i])}
        results.append(row)
    return [
        {"status": "OK", "request_id": f"r{n}", "results": results[start : start + page_size]}
        for n, start in enumerate(range(0, max(len(results), 1), page_size))
    ]
