"""A synthetic option chain served in the vendor's snapshot shape through `responses` callbacks:
filters, limit and cursor pagination behave like the vendor's, so request counts are realistic."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import orjson
import responses

BASE_URL = "https://api.polygon.test"


def _norm_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _price(spot: float, strike: float, years: float, sigma: float, is_call: bool) -> tuple[float, float]:
    root = sigma * math.sqrt(years)
    d1 = (math.log(spot / strike) + 0.5 * sigma * sigma * years) / root
    d2 = d1 - root
    if is_call:
        return spot * _norm_cdf(d1) - strike * _norm_cdf(d2), _norm_cdf(d1)
    return strike * _norm_cdf(-d2) - spot * _norm_cdf(-d1), _norm_cdf(d1) - 1


def spy_like_expiries(today: date) -> list[date]:
    """Dailies for four weeks, Friday weeklies to three months, monthlies (third Friday) to a year."""
    expiries: set[date] = set()
    for offset in range(1, 366):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        if offset <= 28 or (offset <= 95 and day.weekday() == 4) or (day.weekday() == 4 and 15 <= day.day <= 21):
            expiries.add(day)
    return sorted(expiries)


@dataclass
class FakeChain:
    ticker: str = "SPY"
    spot: float = 600.0
    as_of: datetime = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    sigma: float = 0.18
    fine_step: float = 1.0
    fine_reach: float = 0.07
    coarse_step: float = 5.0
    coarse_reach: float = 0.3
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        stamp_ns = int(self.as_of.timestamp() * 1e9)
        for expiry in spy_like_expiries(self.as_of.date()):
            years = datetime.combine(expiry, datetime.min.time(), UTC) + timedelta(hours=21) - self.as_of
            years = years.total_seconds() / 31_536_000
            for strike in self.strikes():
                for is_call in (True, False):
                    value, delta = _price(self.spot, strike, years, self.sigma, is_call)
                    bid = max(0.01, round(value * 0.98, 2))
                    ask = round(max(value * 1.02, bid + 0.01), 2)
                    kind = "C" if is_call else "P"
                    self.rows.append(
                        {
                            "details": {
                                "contract_type": "call" if is_call else "put",
                                "expiration_date": expiry.isoformat(),
                                "strike_price": strike,
                                "shares_per_contract": 100,
                                "ticker": f"O:{self.ticker}{expiry:%y%m%d}{kind}{int(strike * 1000):08d}",
                            },
                            "implied_volatility": self.sigma,
                            "greeks": {"delta": delta},
                            "open_interest": 1000,
                            "day": {"volume": 50},
                            "last_quote": {"bid": bid, "ask": ask, "last_updated": stamp_ns},
                            "underlying_asset": {"ticker": self.ticker, "price": self.spot, "last_updated": stamp_ns},
                        }
                    )

    def strikes(self) -> list[float]:
        fine = {
            round(self.spot * (1 - self.fine_reach)) + i * self.fine_step
            for i in range(int(2 * self.spot * self.fine_reach / self.fine_step) + 1)
        }
        low = math.floor(self.spot * (1 - self.coarse_reach) / self.coarse_step) * self.coarse_step
        coarse = {
            low + i * self.coarse_step for i in range(int(2 * self.spot * self.coarse_reach / self.coarse_step) + 1)
        }
        return sorted(float(s) for s in fine | coarse if s > 0)

    def matching(self, query: dict[str, str]) -> list[dict]:
        def keep(row: dict) -> bool:
            details = row["details"]
            expiry, strike = details["expiration_date"], details["strike_price"]
            checks = [
                ("expiration_date", lambda v: expiry == v),
                ("expiration_date.gte", lambda v: expiry >= v),
                ("expiration_date.lte", lambda v: expiry <= v),
                ("strike_price.gte", lambda v: strike >= float(v)),
                ("strike_price.lte", lambda v: strike <= float(v)),
                ("contract_type", lambda v: details["contract_type"] == v),
            ]
            return all(check(query[name]) for name, check in checks if name in query)

        return [row for row in self.rows if keep(row)]

    def snapshot(self, request) -> tuple[int, dict, bytes]:
        query = dict(parse_qsl(urlsplit(request.url).query))
        if "cursor" in query:
            state = orjson.loads(base64.urlsafe_b64decode(query["cursor"]))
            query, offset = state["query"], state["offset"]
        else:
            offset = 0
        limit = min(int(query.get("limit", 10)), 250)
        matching = self.matching(query)
        body: dict = {"status": "OK", "request_id": "fake", "results": matching[offset : offset + limit]}
        if offset + limit < len(matching):
            cursor = base64.urlsafe_b64encode(orjson.dumps({"query": query, "offset": offset + limit})).decode()
            body["next_url"] = f"https://api.polygon.io/v3/snapshot/options/{self.ticker}?cursor={cursor}"
        return 200, {"Content-Type": "application/json"}, orjson.dumps(body)

    def serve(self, mock: responses.RequestsMock, base_url: str = BASE_URL) -> None:
        mock.add_callback(
            responses.GET, re.compile(re.escape(base_url) + r"/v3/snapshot/options/" + self.ticker), self.snapshot
        )
