"""The vendor's REST endpoints over the simulated market, in the vendor's paths, parameters and JSON."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import numpy as np
import orjson

from marketsim.earnings import EarningsReport
from marketsim.market import DayBar, Market
from marketsim.options import ChainListing, PricedRows
from marketsim.session import NEW_YORK, at_new_york, is_session, market_phase
from marketsim.universe import TickerProfile

SNAPSHOT_MAX_LIMIT = 250
CONTRACTS_MAX_LIMIT = 1000
EARNINGS_MAX_LIMIT = 50000
EARNINGS_SORTS = ("date", "ticker")
DEFAULT_LIMIT = 10
RANGE_MODIFIERS = ("gte", "gt", "lte", "lt")


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def request_id(path: str, query: dict[str, str]) -> str:
    return hashlib.md5(f"{path}?{sorted(query.items())}".encode()).hexdigest()


def error(status: int, path: str, query: dict[str, str], message: str, kind: str = "ERROR") -> Answer:
    key = "error" if kind == "ERROR" else "message"
    return Answer(status, {"status": kind, "request_id": request_id(path, query), key: message})


def _encode_cursor(query: dict[str, str], offset: int) -> str:
    raw = orjson.dumps({"q": query, "o": offset})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dict[str, str], int]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return {str(k): str(v) for k, v in data["q"].items()}, int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("invalid cursor") from None


def _limit(query: dict[str, str], maximum: int) -> int:
    raw = query.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}")
    return limit


def _parse_date(raw: str, name: str) -> np.datetime64:
    try:
        return np.datetime64(date.fromisoformat(raw), "D")
    except ValueError:
        raise BadRequest(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


def _parse_float(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {raw!r}") from None


def _range_mask(values: np.ndarray, query: dict[str, str], name: str, parse: Callable[[str, str], Any]) -> np.ndarray:
    mask = np.ones(values.shape, dtype=bool)
    if name in query:
        mask &= values == parse(query[name], name)
    for modifier in RANGE_MODIFIERS:
        key = f"{name}.{modifier}"
        if key in query:
            bound = parse(query[key], key)
            mask &= {"gte": values >= bound, "gt": values > bound, "lte": values <= bound, "lt": values < bound}[
                modifier
            ]
    return mask


def _contract_mask(listing: ChainListing, query: dict[str, str]) -> np.ndarray:
    mask = _range_mask(listing.expiry, query, "expiration_date", _parse_date)
    mask &= _range_mask(listing.strike, query, "strike_price", _parse_float)
    kind = query.get("contract_type")
    if kind is not None:
        if kind not in ("call", "put"):
            raise BadRequest(f"contract_type must be call or put, got {kind!r}")
        mask &= listing.is_call == (kind == "call")
    return mask


def _ordered_rows(listing: ChainListing, mask: np.ndarray, query: dict[str, str]) -> np.ndarray:
    rows = np.flatnonzero(mask)
    sort = query.get("sort", "ticker")
    if sort == "expiration_date":
        rows = rows[np.argsort(listing.expiry[rows], kind="stable")]
    elif sort == "strike_price":
        rows = rows[np.argsort(listing.strike[rows], kind="stable")]
    elif sort != "ticker":
        raise BadRequest(f"sort must be one of ticker, expiration_date, strike_price, got {sort!r}")
    order = query.get("order", "asc")
    if order not in ("asc", "desc"):
        raise BadRequest(f"order must be asc or desc, got {order!r}")
    return rows[::-1] if order == "desc" else rows


def _number(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


class VendorApi:
    """Answers one GET on a vendor path. `base_url` is where next_url links point."""

    ROUTES = (
        ("options_chain", re.compile(r"^/v3/snapshot/options/([^/]+)$")),
        ("grouped_daily", re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/([^/]+)$")),
        ("options_contracts", re.compile(r"^/v3/reference/options/contracts$")),
        ("stock_snapshot", re.compile(r"^/v2/snapshot/locale/us/markets/stocks/tickers/([^/]+)$")),
        ("stocks_snapshot", re.compile(r"^/v2/snapshot/locale/us/markets/stocks/tickers$")),
        ("market_status", re.compile(r"^/v1/marketstatus/now$")),
        ("benzinga_earnings", re.compile(r"^/benzinga/v1/earnings$")),
    )

    def __init__(self, market: Market, clock_epoch: Callable[[], float]) -> None:
        self.market = market
        self.clock_epoch = clock_epoch

    @classmethod
    def route(cls, path: str) -> tuple[str, tuple[str, ...]] | None:
        for name, pattern in cls.ROUTES:
            match = pattern.match(path)
            if match:
                return name, match.groups()
        return None

    def answer(
        self, name: str, args: tuple[str, ...], path: str, query: dict[str, str], base_url: str, repeat_cursor: bool
    ) -> Answer:
        try:
            if name == "options_chain":
                return self.options_chain(args[0], path, query, base_url, repeat_cursor)
            if name == "grouped_daily":
                return self.grouped_daily(args[0], path, query)
            if name == "options_contracts":
                return self.options_contracts(path, query, base_url, repeat_cursor)
            if name == "stock_snapshot":
                return self.stock_snapshot(args[0], path, query)
            if name == "stocks_snapshot":
                return self.stocks_snapshot(path, query)
            if name == "benzinga_earnings":
                return self.earnings(path, query, base_url, repeat_cursor)
            return self.market_status()
        except BadRequest as exc:
            return error(400, path, query, str(exc))

    # --- paging ---------------------------------------------------------------------------------

    @staticmethod
    def _page_query(query: dict[str, str]) -> tuple[dict[str, str], int, str | None]:
        cursor = query.get("cursor")
        if cursor:
            params, offset = _decode_cursor(cursor)
            return params, offset, cursor
        params = {k: v for k, v in query.items() if k not in ("apiKey", "cursor")}
        return params, 0, None

    @staticmethod
    def _next_url(
        base_url: str, path: str, params: dict[str, str], offset: int, cursor: str | None, repeat: bool
    ) -> str:
        token = cursor if (repeat and cursor) else _encode_cursor(params, offset)
        return f"{base_url}{path}?{urlencode({'cursor': token})}"

    # --- endpoints ------------------------------------------------------------------------------

    def options_chain(self, symbol: str, path: str, query: dict[str, str], base_url: str, repeat: bool) -> Answer:
        params, offset, cursor = self._page_query(query)
        limit = _limit(params, SNAPSHOT_MAX_LIMIT)
        listing = self.market.listing(symbol)
        body: dict[str, Any] = {"status": "OK", "request_id": request_id(path, query), "results": []}
        if listing is None:
            return Answer(200, body)
        rows = _ordered_rows(listing, _contract_mask(listing, params), params)
        page = rows[offset : offset + limit]
        if page.size:
            now = self.clock_epoch()
            priced = self.market.price_contracts(symbol, page, now)
            spot = self.market.spot(symbol, now)
            body["results"] = [
                self._contract_snapshot(listing, int(row), priced, i, spot, now) for i, row in enumerate(page)
            ]
        if offset + limit < rows.size:
            body["next_url"] = self._next_url(base_url, path, params, offset + limit, cursor, repeat)
        return Answer(200, body)

    def _contract_snapshot(
        self, listing: ChainListing, row: int, priced: PricedRows, i: int, spot: float, now: float
    ) -> dict[str, Any]:
        strike = float(listing.strike[row])
        is_call = bool(listing.is_call[row])
        bid, ask = float(priced.bid[i]), float(priced.ask[i])
        mid = round((bid + ask) / 2, 4)
        break_even = strike + mid if is_call else strike - mid
        quote_ns = int(priced.quote_ns[i])
        contract: dict[str, Any] = {
            "break_even_price": round(break_even, 4),
            "day": {},
            "details": {
                "contract_type": "call" if is_call else "put",
                "exercise_style": "american",
                "expiration_date": str(listing.expiry[row]),
                "shares_per_contract": 100,
                "strike_price": strike if strike % 1 else int(strike),
                "ticker": listing.occ_ticker(row),
            },
        }
        if priced.iv_present[i]:
            contract["greeks"] = {
                "delta": float(priced.delta[i]),
                "gamma": float(priced.gamma[i]),
                "theta": float(priced.theta[i]),
                "vega": float(priced.vega[i]),
            }
            contract["implied_volatility"] = float(priced.iv[i])
        contract["last_quote"] = {
            "ask": ask,
            "ask_size": int(priced.ask_size[i]),
            "bid": bid,
            "bid_size": int(priced.bid_size[i]),
            "last_updated": quote_ns,
            "midpoint": mid,
            "timeframe": "REAL-TIME",
        }
        volume = int(priced.day_volume[i])
        if volume > 0:
            draw = float(listing.draws[row, 4])
            close = max(round(float(priced.theo[i]) * (1 + 0.04 * (draw - 0.5)), 2), 0.01)
            opened = max(round(close * (1 + 0.1 * (0.5 - draw)), 2), 0.01)
            previous = max(round(close * (1 + 0.08 * (0.5 - draw)), 2), 0.01)
            high, low = round(max(opened, close) * 1.03, 2), round(min(opened, close) * 0.97, 2)
            contract["day"] = {
                "change": round(close - previous, 4),
                "change_percent": round((close - previous) / previous * 100, 4),
                "close": close,
                "high": high,
                "last_updated": quote_ns,
                "low": low,
                "open": opened,
                "previous_close": previous,
                "volume": volume,
                "vwap": round((high + low + close) / 3, 4),
            }
            contract["last_trade"] = {
                "price": close,
                "sip_timestamp": quote_ns - int(draw * 30e9),
                "size": 1 + int(draw * 20),
                "conditions": [209],
                "exchange": 300 + int(draw * 23),
                "timeframe": "REAL-TIME",
            }
        contract["open_interest"] = int(listing.open_interest[row])
        contract["underlying_asset"] = {
            "change_to_break_even": round(break_even - spot, 4),
            "last_updated": int(now * 1e9),
            "price": spot,
            "ticker": listing.symbol,
            "timeframe": "REAL-TIME",
        }
        return contract

    def grouped_daily(self, raw_day: str, path: str, query: dict[str, str]) -> Answer:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise BadRequest(f"date must be YYYY-MM-DD, got {raw_day!r}") from None
        include_otc = query.get("include_otc", "false").lower() == "true"
        adjusted = query.get("adjusted", "true").lower() != "false"
        now = self.clock_epoch()
        rows = self._grouped_rows(day, now, include_otc) if is_session(day) else []
        body: dict[str, Any] = {"queryCount": len(rows), "resultsCount": len(rows), "adjusted": adjusted}
        if rows:
            body["results"] = rows
        body["status"] = "OK"
        body["request_id"] = request_id(path, query)
        if rows:
            body["count"] = len(rows)
        return Answer(200, body)

    def _grouped_rows(self, day: date, now: float, include_otc: bool) -> list[dict[str, Any]]:
        market = self.market
        back = market.sessions_back(day)
        if day != market.session_date and back is None:
            return []
        stamp = int(at_new_york(day, 16).timestamp() * 1000)
        rows = []
        for symbol in market.symbols():
            profile = market.profiles[symbol]
            if profile.otc and not include_otc:
                continue
            bar = market.today(symbol, now) if day == market.session_date else market.past_bar(symbol, back or 0)
            if bar is None:
                return []
            row: dict[str, Any] = _bar_json(bar, symbol)
            row["t"] = stamp
            row["n"] = bar.transactions
            if profile.otc:
                row["otc"] = True
            rows.append(row)
        return rows

    def options_contracts(self, path: str, query: dict[str, str], base_url: str, repeat: bool) -> Answer:
        params, offset, cursor = self._page_query(query)
        limit = _limit(params, CONTRACTS_MAX_LIMIT)
        body: dict[str, Any] = {"results": [], "status": "OK", "request_id": request_id(path, query)}
        if params.get("expired", "false").lower() == "true":
            return Answer(200, body)
        underlying = params.get("underlying_ticker")
        symbols = [underlying] if underlying else self.market.symbols()
        results: list[dict[str, Any]] = []
        skipped = 0
        total_after = False
        for symbol in symbols:
            listing = self.market.listing(symbol)
            if listing is None:
                continue
            rows = _ordered_rows(listing, _contract_mask(listing, params), params)
            if skipped + rows.size <= offset:
                skipped += rows.size
                continue
            start = max(offset - skipped, 0)
            take = rows[start : start + limit - len(results)]
            results.extend(_reference_contract(listing, int(row)) for row in take)
            skipped += rows.size
            if len(results) >= limit:
                total_after = skipped > offset + limit or symbol != symbols[-1]
                break
        body["results"] = results
        if total_after:
            body["next_url"] = self._next_url(base_url, path, params, offset + limit, cursor, repeat)
        return Answer(200, body)

    def earnings(self, path: str, query: dict[str, str], base_url: str, repeat: bool) -> Answer:
        """Benzinga's earnings calendar: the reports of the names with a front-month event."""
        params, offset, cursor = self._page_query(query)
        limit = _limit(params, EARNINGS_MAX_LIMIT)
        if "ticker" in params:
            symbols = [params["ticker"]]
        elif "ticker.any_of" in params:
            symbols = [symbol for symbol in params["ticker.any_of"].split(",") if symbol]
        else:
            symbols = self.market.symbols()
        reports = [report for symbol in symbols if (report := self.market.earnings_report(symbol)) is not None]
        days = np.array([report.date for report in reports], dtype="datetime64[D]")
        mask = _range_mask(days, params, "date", _parse_date)
        chosen = _sorted_reports([report for report, keep in zip(reports, mask) if keep], params.get("sort"))
        body: dict[str, Any] = {"status": "OK", "request_id": request_id(path, query), "results": []}
        body["results"] = [
            _earnings_row(report, self.market.session_date) for report in chosen[offset : offset + limit]
        ]
        if offset + limit < len(chosen):
            body["next_url"] = self._next_url(base_url, path, params, offset + limit, cursor, repeat)
        return Answer(200, body)

    def stock_snapshot(self, symbol: str, path: str, query: dict[str, str]) -> Answer:
        profile = self.market.profile(symbol)
        if profile is None:
            return error(404, path, query, "Ticker not found.", kind="NOT_FOUND")
        now = self.clock_epoch()
        return Answer(
            200, {"request_id": request_id(path, query), "status": "OK", "ticker": self._ticker(profile, now)}
        )

    def stocks_snapshot(self, path: str, query: dict[str, str]) -> Answer:
        """The vendor's full-market snapshot: every listed stock (OTC only with include_otc=true), or
        the comma-separated ``tickers``; unknown symbols are left out."""
        include_otc = query.get("include_otc", "false").lower() == "true"
        wanted = [t.strip().upper() for t in query.get("tickers", "").split(",") if t.strip()]
        profiles = [self.market.profile(symbol) for symbol in (wanted or self.market.symbols())]
        now = self.clock_epoch()
        tickers = [
            self._ticker(profile, now)
            for profile in profiles
            if profile is not None and (include_otc or not profile.otc)
        ]
        return Answer(
            200, {"count": len(tickers), "request_id": request_id(path, query), "status": "OK", "tickers": tickers}
        )

    def _ticker(self, profile: TickerProfile, now: float) -> dict[str, Any]:
        market, symbol = self.market, profile.symbol
        previous = market.past_bar(symbol, 0)
        today = market.today(symbol, now)
        price = market.spot(symbol, now)
        now_ns = int(now * 1e9)
        half_spread = max(0.01, round(price * 0.0002, 2))
        empty = {"o": 0, "h": 0, "l": 0, "c": 0, "v": 0, "vw": 0}
        ticker: dict[str, Any] = {
            "day": _bar_json(today) if today else empty,
            "lastQuote": {
                "P": round(price + half_spread, 2),
                "S": 3,
                "p": round(price - half_spread, 2),
                "s": 5,
                "t": now_ns,
            },
            "lastTrade": {"c": [14, 41], "i": str(int(now * 1000) % 10**7), "p": price, "s": 100, "t": now_ns, "x": 4},
            "min": {},
            "prevDay": _bar_json(previous),
            "ticker": symbol,
            "todaysChange": round(price - previous.close, 4),
            "todaysChangePerc": round((price - previous.close) / previous.close * 100, 4),
            "updated": now_ns,
        }
        if today:
            minute_end = max(now - now % 60, market.open_epoch + 60)
            bar = market.window_bar(symbol, minute_end - 60, minute_end)
            ticker["min"] = {"av": today.volume, "t": int((minute_end - 60) * 1000), "n": bar.transactions}
            ticker["min"].update(_bar_json(bar))
        return ticker

    def market_status(self) -> Answer:
        now = datetime.fromtimestamp(self.clock_epoch(), tz=NEW_YORK)
        phase = market_phase(now)
        local_open = at_new_york(now.date(), 9, 30)
        is_weekday = now.weekday() < 5
        index_state = "open" if phase == "open" else "closed"
        return Answer(
            200,
            {
                "afterHours": phase == "extended-hours" and now >= local_open,
                "currencies": {"crypto": "open", "fx": "open" if is_weekday else "closed"},
                "earlyHours": phase == "extended-hours" and now < local_open,
                "exchanges": {"nasdaq": phase, "nyse": phase, "otc": phase},
                "indicesGroups": {
                    group: index_state
                    for group in (
                        "s_and_p",
                        "societe_generale",
                        "msci",
                        "ftse_russell",
                        "mstar",
                        "mstarc",
                        "cccy",
                        "cgi",
                        "nasdaq",
                        "dow_jones",
                    )
                },
                "market": phase,
                "serverTime": now.replace(microsecond=0).isoformat(),
            },
        )


def _bar_json(bar: DayBar, symbol: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {} if symbol is None else {"T": symbol}
    row.update({"v": bar.volume, "vw": bar.vwap, "o": bar.open, "c": bar.close, "h": bar.high, "l": bar.low})
    return row


def _reference_contract(listing: ChainListing, row: int) -> dict[str, Any]:
    strike = float(listing.strike[row])
    is_call = bool(listing.is_call[row])
    return {
        "cfi": "OCASPS" if is_call else "OPASPS",
        "contract_type": "call" if is_call else "put",
        "exercise_style": "american",
        "expiration_date": str(listing.expiry[row]),
        "primary_exchange": "BATO",
        "shares_per_contract": 100,
        "strike_price": strike if strike % 1 else int(strike),
        "ticker": listing.occ_ticker(row),
        "underlying_ticker": listing.symbol,
    }


def _sorted_reports(reports: list[EarningsReport], sort: str | None) -> list[EarningsReport]:
    field, _, order = (sort or "date.desc").partition(".")
    if field not in EARNINGS_SORTS or order not in ("asc", "desc"):
        raise BadRequest(f"sort must be one of {', '.join(f'{f}.asc, {f}.desc' for f in EARNINGS_SORTS)}, got {sort!r}")
    key = (lambda r: (r.date, r.symbol)) if field == "date" else (lambda r: (r.symbol, r.date))
    return sorted(reports, key=key, reverse=order == "desc")


def _earnings_row(report: EarningsReport, session_date: date) -> dict[str, Any]:
    digest = hashlib.md5(f"{report.symbol}{report.date}".encode()).hexdigest()
    updated = at_new_york(session_date, 6).astimezone(UTC)
    return {
        "benzinga_id": digest[:24],
        "company_name": f"{report.symbol} Corp",
        "currency": "USD",
        "date": report.date.isoformat(),
        "date_status": "confirmed" if report.confirmed else "projected",
        "estimated_eps": report.estimated_eps,
        "fiscal_period": report.fiscal_period,
        "fiscal_year": report.fiscal_year,
        "importance": report.importance,
        "last_updated": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ticker": report.symbol,
        "time": report.time,
    }
