"""Signal engine benchmarks: the whole-chain compute, the snapshot parser, a full chain from the
vendor's response bytes to signals against a plain per-contract loop, and the IV solver against
vollib's scalar solver (same inputs, same run).

The full chain (2026-12-01, 2-core machine): 16.8 ms with msgspec structs, 9.3 with the C reader
(scanner/polygon/_fastscan.c: reading 4.3 CPU ms, checks and join about 1.3, scan_chain 3.2 of
which the IV solve about 2, mostly numpy's per-call overhead). The goal names the reader used."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import orjson

from scanner.engine.bsm import bsm_price, implied_vol
from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.scan import scan_chain
from scanner.engine.timing import trading_date, utc_from_ns, years_to_expiry
from scanner.polygon import decode
from scanner.polygon.decode import chain_from_pages, decode_snapshot_page
from scanner.polygon.parse import parse_snapshot_pages

AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
SPOT = 100.0
RATE = 0.045
EXPIRY_DTES = [7 * k for k in range(1, 31)] + [240 + 30 * k for k in range(10)]  # 40 expiries
STRIKES = np.arange(50.0, 175.0, 1.0)  # 125 strikes
IV_QUOTES = 10_000
VOLLIB_SAMPLE = 2_000  # vollib is scalar and slow: time a sample, scale to IV_QUOTES
BYTES_ROUNDS = 21


def _surface(dte: np.ndarray, strike: np.ndarray) -> np.ndarray:
    """Inverted front (0.45 at 7 d to 0.30 far out) with a put skew and a smile."""
    moneyness = np.log(strike / SPOT)
    level = 0.30 + 0.15 * np.exp(-dte / 45.0)
    return level - 0.25 * moneyness + 0.6 * moneyness**2


def synthetic_pages() -> list[dict]:
    """40 expiries x 125 strikes x call/put = 10,000 contracts as Polygon snapshot pages of 250."""
    today = trading_date(AS_OF)
    stamp = int(AS_OF.timestamp() * 1e9)
    dte, strike, is_call = (a.ravel() for a in np.meshgrid(EXPIRY_DTES, STRIKES, [True, False], indexing="ij"))
    expiry = np.array([np.datetime64(today + timedelta(days=int(d)), "D") for d in dte])
    price = bsm_price(SPOT, strike, years_to_expiry(expiry, AS_OF), _surface(dte, strike), is_call, RATE)
    half_spread = np.maximum(0.01, 0.015 * price)
    bid = np.round(np.maximum(price - half_spread, 0.01), 4)
    ask = np.round(bid + 2 * half_spread, 4)
    rows = []
    for i in range(dte.size):
        day: date = expiry[i].item()
        rows.append(
            {
                "details": {
                    "contract_type": "call" if is_call[i] else "put",
                    "exercise_style": "american",
                    "expiration_date": day.isoformat(),
                    "shares_per_contract": 100,
                    "strike_price": float(strike[i]),
                    "ticker": f"O:BENCH{day:%y%m%d}{'C' if is_call[i] else 'P'}{int(strike[i] * 1000):08d}",
                },
                "day": {"volume": 250, "close": float(price[i]), "last_updated": stamp},
                "last_quote": {
                    "bid": float(bid[i]),
                    "ask": float(ask[i]),
                    "last_updated": stamp,
                    "timeframe": "REAL-TIME",
                },
                "open_interest": 1200,
                "underlying_asset": {"price": SPOT, "ticker": "BENCH", "last_updated": stamp},
            }
        )
    return [{"status": "OK", "results": rows[i : i + 250]} for i in range(0, len(rows), 250)]


def _median_ms(action, repeats: int) -> float:
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def _bytes_to_signals(raws: list[bytes], config: EngineConfig):
    """Ours, as a scan does it: each page's bytes decoded to columns, the pages joined, the engine."""
    return scan_chain(chain_from_pages([decode_snapshot_page(raw) for raw in raws], "BENCH"), config)


def _naive_bytes_to_signals(raws: list[bytes], config: EngineConfig, loads=json.loads):
    """The baseline: a plain per-contract loop. Each page decoded to dicts (``json.loads``, or
    ``orjson.loads`` for the stronger one), each contract's dict walked into lists, the lists made
    arrays. It checks only that a row has a quote, so it does less than ours."""
    expiry, strike, is_call, bid, ask, iv, delta, oi, volume, quote_ns = ([] for _ in range(10))
    days: dict[str, np.datetime64] = {}
    price, newest = float("nan"), 0
    for raw in raws:
        for row in loads(raw)["results"]:
            details, quote = row.get("details") or {}, row.get("last_quote") or {}
            if quote.get("bid") is None or quote.get("ask") is None:
                continue
            underlying = row.get("underlying_asset") or {}
            price = underlying.get("price", price)
            newest = max(newest, quote.get("last_updated") or 0, underlying.get("last_updated") or 0)
            text = details["expiration_date"]
            if text not in days:
                days[text] = np.datetime64(text, "D")
            expiry.append(days[text])
            strike.append(float(details["strike_price"]))
            is_call.append(details["contract_type"] == "call")
            bid.append(float(quote["bid"]))
            ask.append(float(quote["ask"]))
            iv.append(row.get("implied_volatility", float("nan")))
            delta.append((row.get("greeks") or {}).get("delta", float("nan")))
            oi.append(row.get("open_interest", float("nan")))
            volume.append((row.get("day") or {}).get("volume", float("nan")))
            quote_ns.append(quote.get("last_updated") or 0)
    chain = OptionChain(
        ticker="BENCH",
        underlying_price=float(price),
        as_of=utc_from_ns(newest),
        expiry=np.array(expiry, dtype="datetime64[D]"),
        strike=np.array(strike),
        is_call=np.array(is_call),
        bid=np.array(bid),
        ask=np.array(ask),
        vendor_iv=np.array(iv, dtype=np.float64),
        vendor_delta=np.array(delta, dtype=np.float64),
        open_interest=np.array(oi, dtype=np.float64),
        volume=np.array(volume, dtype=np.float64),
        quote_time_ns=np.array(quote_ns, dtype=np.int64),
    )
    return scan_chain(chain, config)


def _without_c_reader(raws: list[bytes], config: EngineConfig):
    """Ours as it reads pages when the C reader is not built (msgspec structs): the reader before it."""
    reader, decode._fastscan = decode._fastscan, None
    try:
        return _bytes_to_signals(raws, config)
    finally:
        decode._fastscan = reader


def _full_chain_from_bytes(pages: list[dict], config: EngineConfig) -> dict[str, float]:
    """Median ms (wall) of ours, of ours without the C reader and of the two loops from the same 40
    pages' bytes, timed in turns so a busy machine slows them alike; and each one's median CPU time
    (``<name>_cpu``), which is what an idle machine shows."""
    raws = [orjson.dumps(page) for page in pages]
    chain = chain_from_pages([decode_snapshot_page(raw) for raw in raws], "BENCH")
    runs = {
        "ours": lambda: _bytes_to_signals(raws, config),
        "structs": lambda: _without_c_reader(raws, config),
        "naive": lambda: _naive_bytes_to_signals(raws, config),
        "orjson_loop": lambda: _naive_bytes_to_signals(raws, config, orjson.loads),
        "scan": lambda: scan_chain(chain, config),
    }
    expected = repr(runs["ours"]().signals)
    assert all(repr(run().signals) == expected for run in runs.values()), "every path must reach the same signals"
    times: dict[str, list[float]] = {}
    for _ in range(BYTES_ROUNDS):
        for name, run in runs.items():
            started, cpu = time.perf_counter(), time.thread_time()
            run()
            times.setdefault(name, []).append((time.perf_counter() - started) * 1e3)
            times.setdefault(f"{name}_cpu", []).append((time.thread_time() - cpu) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def _iv_quotes() -> tuple[np.ndarray, ...]:
    """Market-like quotes: prices with at least a cent of time value, strikes ±40%, 1 week to 2 years."""
    rng = np.random.default_rng(20250303)
    strike = SPOT * np.exp(rng.uniform(-0.4, 0.4, 4 * IV_QUOTES))
    years = rng.uniform(7 / 365, 2.0, strike.size)
    vol = rng.uniform(0.08, 1.2, strike.size)
    is_call = rng.random(strike.size) < 0.5
    price = bsm_price(SPOT, strike, years, vol, is_call, RATE)
    forward = SPOT * np.exp(RATE * years)
    intrinsic = np.exp(-RATE * years) * np.where(
        is_call, np.maximum(forward - strike, 0), np.maximum(strike - forward, 0)
    )
    keep = np.flatnonzero(price - intrinsic >= 0.01)[:IV_QUOTES]
    return price[keep], strike[keep], years[keep], vol[keep], is_call[keep]


def run() -> list[dict]:
    from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

    pages = synthetic_pages()
    chain = parse_snapshot_pages(pages)
    config = EngineConfig()
    result = scan_chain(chain, config)
    assert len(result.signals) == 2 * len(config.pairs), result.notes
    compute_ms = _median_ms(lambda: scan_chain(chain, config), 31)
    parse_ms = _median_ms(lambda: parse_snapshot_pages(pages[len(pages) // 2]), 51)
    snapshot_ms = _median_ms(lambda: scan_chain(parse_snapshot_pages(pages), config), 7)
    full = _full_chain_from_bytes(pages, config)
    reader = "the C reader" if decode._fastscan is not None else "msgspec (the C reader is not built)"
    bytes_ms, naive_ms, orjson_loop_ms = full["ours"], full["naive"], full["orjson_loop"]

    price, strike, years, vol, is_call = _iv_quotes()
    ours_ms = _median_ms(lambda: implied_vol(price, SPOT, strike, years, is_call, RATE), 9)
    ours = implied_vol(price, SPOT, strike, years, is_call, RATE)
    sample = slice(0, VOLLIB_SAMPLE)
    theirs = np.full(VOLLIB_SAMPLE, np.nan)
    started = time.perf_counter()
    for i, (p, k, t, c) in enumerate(zip(price[sample], strike[sample], years[sample], is_call[sample])):
        try:
            theirs[i] = vollib_iv(p, SPOT, k, t, RATE, 0.0, "c" if c else "p")
        except Exception:  # vollib raises on prices it cannot invert; those are left out of the comparison
            pass
    vollib_ms = (time.perf_counter() - started) * 1e3 * price.size / VOLLIB_SAMPLE
    both = np.isfinite(theirs) & np.isfinite(ours[sample])
    max_err = float(np.max(np.abs(theirs[both] - ours[sample][both])))
    truth_err = float(np.nanmax(np.abs(ours - vol)))
    return [
        {
            "name": "engine.chain_compute_ms",
            "value": compute_ms,
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "goal": "<= 10 (scan_chain on 10,000 parsed contracts, 3 pairs x 2 structures, IVs solved from mids)",
        },
        {
            "name": "engine.parse_page_ms",
            "value": parse_ms,
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "goal": "<= 2 (one 250-contract page)",
        },
        {
            "name": "engine.snapshot_total_ms",
            "value": snapshot_ms,
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "goal": "info: parse 40 pages + scan_chain",
        },
        {
            "name": "engine.full_chain_bytes_ms",
            "value": bytes_ms,
            "unit": "ms",
            "baseline": naive_ms,
            "ratio": naive_ms / bytes_ms,
            "goal": (
                f"<= 10 (40 pages' response bytes, 10,000 contracts -> signals, read by {reader}; CPU time"
                f" {full['ours_cpu']:.1f} ms of which scan_chain {full['scan_cpu']:.1f};"
                " baseline: json.loads + per-contract loop)"
            ),
        },
        {
            "name": "engine.vs_naive_ratio",
            "value": naive_ms / bytes_ms,
            "unit": "x",
            "baseline": naive_ms,
            "ratio": naive_ms / bytes_ms,
            "goal": f">= 2 (json.loads + per-contract loop {naive_ms:.1f} ms / ours {bytes_ms:.1f} ms, same bytes, same run)",
        },
        {
            "name": "engine.vs_structs_ratio",
            "value": full["structs"] / bytes_ms,
            "unit": "x",
            "baseline": full["structs"],
            "ratio": full["structs"] / bytes_ms,
            "goal": f"info: ours read by msgspec structs ({full['structs']:.1f} ms, the reader before the C one) / ours, same run",
        },
        {
            "name": "engine.vs_orjson_loop_ratio",
            "value": orjson_loop_ms / bytes_ms,
            "unit": "x",
            "baseline": orjson_loop_ms,
            "ratio": orjson_loop_ms / bytes_ms,
            "goal": f"info: the same loop on orjson.loads ({orjson_loop_ms:.1f} ms) / ours, same run",
        },
        {
            "name": "engine.iv_vs_vollib_ratio",
            "value": vollib_ms / ours_ms,
            "unit": "x",
            "baseline": vollib_ms,
            "ratio": vollib_ms / ours_ms,
            "goal": f">= 20 (ours {ours_ms:.2f} ms vs vollib on {price.size} quotes)",
        },
        {
            "name": "engine.iv_max_abs_err",
            "value": max_err,
            "unit": "vol",
            "baseline": None,
            "ratio": None,
            "goal": f"<= 1e-6 vs vollib on {int(both.sum())} quotes both solved (vs the true vol: {truth_err:.1e})",
        },
    ]
