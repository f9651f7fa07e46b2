"""The chain snapshot's bytes decoded straight to columns give exactly the chain, the drop counts and
the signals the row-by-row reader gives from the decoded JSON, whatever the vendor sends: through
the C reader (_fastscan) and through msgspec (the way when the C reader is not built or declines)."""

from __future__ import annotations

import copy
import json
import math
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.engine.config import EngineConfig
from scanner.engine.scan import scan_chain
from scanner.polygon import decode
from scanner.polygon.decode import chain_from_pages, decode_snapshot_page, listed_expiries
from scanner.polygon.errors import MalformedResponseError
from scanner.polygon.parse import page_columns, parse_snapshot_pages
from tests.conftest import REQUIRE_SERVICES
from tests.polygon.fake_polygon import BASE_URL

SAMPLE = Path("/work/shared/polygon-samples/options-chain-snapshot.json")
FASTSCAN = decode._fastscan
WAYS = ["c_reader", "msgspec"]
STAMP = 1_741_014_000_000_000_000  # 2025-03-03 15:00 UTC
ABSENT = object()  # a key left out of the object


def vendor_rows(messy: bool) -> st.SearchStrategy[list]:
    """Rows shaped as the vendor documents them, each with up to three fields changed: absent,
    null, empty, zero or negative, a bad date, a huge number; ``messy`` rows may also get values of
    the wrong type (strings, booleans, lists, floats for stamps, integers beyond 64 bits) or not
    be objects at all. Strikes and expiries come from short lists, so duplicates are common."""
    numbers = st.one_of(st.floats(-5, 500, allow_nan=False), st.integers(-3, 500))
    stamps = st.integers(STAMP - 10**12, STAMP + 10**12)
    good = st.fixed_dictionaries(
        {
            "details": st.fixed_dictionaries(
                {
                    "contract_type": st.sampled_from(["call", "put"]),
                    "expiration_date": st.sampled_from(["2025-03-21", "2025-04-17", "2025-06-20", "2024-12-20"]),
                    "strike_price": st.sampled_from([95, 100.0, 100.5, 105]),
                    "shares_per_contract": st.just(100),
                    "exercise_style": st.just("american"),
                    "ticker": st.just("O:ABC250321C00100000"),
                }
            ),
            "last_quote": st.fixed_dictionaries(
                {
                    "bid": st.sampled_from([1.0, 1.05, 2.5, 3]),
                    "ask": st.sampled_from([1.1, 1.2, 2.6, 4]),
                    "last_updated": stamps,
                    "timeframe": st.just("REAL-TIME"),
                }
            ),
            "underlying_asset": st.fixed_dictionaries(
                {"price": st.sampled_from([101.5, 102, 99.25]), "last_updated": stamps, "ticker": st.just("ABC")}
            ),
            "greeks": st.fixed_dictionaries({"delta": numbers, "gamma": numbers}),
            "day": st.fixed_dictionaries({"volume": numbers, "close": numbers}),
            "implied_volatility": numbers,
            "open_interest": numbers,
        }
    )
    gone = [st.just(ABSENT), st.none()]
    objects = st.sampled_from([ABSENT, None, {}, {"unknown": 1}])
    amounts = st.one_of(*gone, numbers, st.sampled_from([0, 0.0, -1, 1e300, 2**70]))
    times = st.one_of(*gone, stamps, st.sampled_from([0, -1, -5, 2**63 - 1]))
    fitting = {  # values of the documented type (or absent, or null)
        ("details",): objects,
        ("details", "contract_type"): st.sampled_from([ABSENT, None, "call", "put"]),
        ("details", "expiration_date"): st.sampled_from([ABSENT, None, "20250516", "2025-02-30", "June 16", ""]),
        ("details", "strike_price"): amounts,
        ("details", "shares_per_contract"): st.sampled_from([ABSENT, None, 10, 100.0, 1000]),
        ("details", "ticker"): st.sampled_from([ABSENT, None, "", "O:X"]),
        ("last_quote",): objects,
        ("last_quote", "bid"): amounts,
        ("last_quote", "ask"): amounts,
        ("last_quote", "last_updated"): times,
        ("underlying_asset",): objects,
        ("underlying_asset", "price"): amounts,
        ("underlying_asset", "last_updated"): times,
        ("underlying_asset", "ticker"): st.sampled_from([ABSENT, None, "", "XYZ"]),
        ("greeks",): objects,
        ("greeks", "delta"): amounts,
        ("day",): objects,
        ("day", "volume"): amounts,
        ("implied_volatility",): amounts,
        ("open_interest",): amounts,
    }
    wrong = st.one_of(
        st.booleans(),
        st.text(max_size=3),
        st.lists(st.integers(), max_size=2),
        st.floats(1e18, 2e18),
        st.sampled_from([2**63, 2**64 + 7, -(2**63) - 1, "CALL", "100", {}, 5]),
    )
    change = st.sampled_from(sorted(fitting)).flatmap(
        lambda path: st.tuples(st.just(path), st.one_of(fitting[path], wrong) if messy else fitting[path])
    )
    changes = st.lists(change, max_size=3)
    row = st.builds(_changed, good, changes)
    return st.lists(st.one_of(row, st.sampled_from([None, 1, "x", []])) if messy else row, max_size=15)


def _changed(row: dict, changes: list) -> dict:
    for path, value in changes:
        parent = row
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if value is ABSENT:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(value)  # st.just hands out one object every time
    return row


def vendor_page(messy: bool) -> st.SearchStrategy[dict]:
    results = vendor_rows(messy)
    return st.one_of(
        st.fixed_dictionaries({"status": st.just("OK"), "results": results}),
        st.just({"status": "OK", "results": None}),
        st.just({"status": "OK"}),
    )


page = st.one_of(vendor_page(messy=False), vendor_page(messy=True))


@contextmanager
def reading(way: str):
    """Pages decoded by the C reader, or by msgspec as when the C reader is not built."""
    if way == "c_reader" and FASTSCAN is None:
        # CI builds it (make install): there its absence is a failure, elsewhere a skip.
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)("the C reader is not built (tools/build_fastscan.py)")
    decode._fastscan = FASTSCAN if way == "c_reader" else None
    try:
        yield
    finally:
        decode._fastscan = FASTSCAN


def same_chain(old, new) -> None:
    assert (old.ticker, old.underlying_price, old.as_of, old.dropped) == (
        new.ticker,
        new.underlying_price,
        new.as_of,
        new.dropped,
    )
    for name in ("expiry", "strike", "is_call", "bid", "ask", "vendor_iv", "vendor_delta", "open_interest"):
        a, b = getattr(old, name), getattr(new, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    assert np.array_equal(old.volume, new.volume, equal_nan=True)
    assert np.array_equal(old.quote_time_ns, new.quote_time_ns) and old.quote_time_ns.dtype == np.int64


def outcome(build):
    """The chain, or the error's type and text (both readers must fail alike)."""
    try:
        return build(), None
    except (MalformedResponseError, ValueError, OverflowError) as error:
        return None, (type(error), str(error))


@pytest.mark.parametrize("way", WAYS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pages=st.lists(page, min_size=1, max_size=4),
    ticker=st.sampled_from([None, "abc"]),
    price=st.sampled_from([None, 101.5]),
    as_of=st.sampled_from([None, datetime(2025, 3, 3, 15, tzinfo=UTC)]),
)
def test_the_bytes_decoder_gives_the_row_readers_chain(way, pages, ticker, price, as_of):
    # given the pages as the vendor's bytes (json: it writes integers of any size, as a server may)
    raws = [json.dumps(p).encode() for p in pages]

    # when both readers build the chain
    old, old_error = outcome(lambda: parse_snapshot_pages([orjson.loads(r) for r in raws], ticker, price, as_of))
    with reading(way):
        new, new_error = outcome(
            lambda: chain_from_pages([decode_snapshot_page(r) for r in raws], ticker, price, as_of)
        )

    # then they agree, chain or error
    assert new_error == old_error
    if old is not None:
        same_chain(old, new)
    # and each page's own count, expiries and cursor agree with the plain JSON
    for raw, payload in zip(raws, pages):
        with reading(way):
            decoded = decode_snapshot_page(raw)
        results = payload.get("results") or []
        assert decoded.contracts == len(results) and decoded.next_url == payload.get("next_url")
        assert decoded.expiries == listed_expiries(results)


@pytest.mark.parametrize("way", WAYS)
def test_vendor_pages_take_the_fast_path(way):
    # given the vendor's sample page and a page with absent optional fields
    sample = SAMPLE.read_bytes()
    bare = {"results": [{"details": {"contract_type": "put", "expiration_date": "2030-01-18", "strike_price": 5}}]}

    # when / then both decode the fast way (not through the row-by-row fallback) and read alike
    for raw in (sample, orjson.dumps(bare)):
        with reading(way):
            page = decode_snapshot_page(raw)
        assert (page._scanned if way == "c_reader" else page._rows) is not None
        old = parse_snapshot_pages(json.loads(raw), "AAPL", 150.0, datetime(2023, 1, 3, tzinfo=UTC))
        same_chain(old, chain_from_pages([page], "AAPL", 150.0, datetime(2023, 1, 3, tzinfo=UTC)))


@pytest.mark.parametrize("way", WAYS)
def test_a_full_chain_gives_the_same_signals(way):
    # given the benchmark's 40-page, 10,000-contract chain
    from bench.bench_engine import synthetic_pages

    pages = synthetic_pages()
    raws = [orjson.dumps(p) for p in pages]
    config = EngineConfig()

    # when
    old = scan_chain(parse_snapshot_pages([orjson.loads(r) for r in raws]), config)
    with reading(way):
        new = scan_chain(chain_from_pages([decode_snapshot_page(r) for r in raws]), config)

    # then
    assert len(new.signals) == len(old.signals) > 0
    assert repr(new.signals) == repr(old.signals) and new.notes == old.notes


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"results": [{"details": {', "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"results": {"a": 1}}', "results is not a list"),
    ],
)
def test_malformed_pages_are_refused_with_the_request_named(client, mocked, body, message):
    # given
    mocked.get(f"{BASE_URL}/v3/snapshot/options/AAPL", body=body)

    # when / then
    with pytest.raises(MalformedResponseError, match=message) as caught:
        client.option_chain_pages("AAPL")
    assert "GET /v3/snapshot/options/AAPL" in str(caught.value)


# The C reader's own ground: the same values written as a server may write them (white space, any
# spelling of a number, escapes, keys twice, bytes beyond ASCII, deep nesting), and invalid JSON.
def spelled_number(value: float | int) -> st.SearchStrategy[str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return st.just(json.dumps(value))
    plain = json.dumps(value)
    forms = [st.just(plain)] * 4  # the plain spelling most often
    if isinstance(value, float) and math.isfinite(value) and value:
        forms += [
            st.just(f"{value:.17g}"),
            st.just(f"{value:e}".replace("e+0", "E").replace("e-0", "e-")),
            st.just(f"{value * 1000:.6f}e-3"),
            st.just(f"{value:.30f}"),
        ]
    if isinstance(value, int):
        forms += [st.just(f"{value}.0"), st.just(f"{value}e0"), st.just("-0" if value == 0 else plain)]
    return st.one_of(forms)


SPACE = st.sampled_from(["", "", " ", "\n  ", "\t", "\r\n"])


@st.composite
def json_text(draw, value, odd: int) -> str:
    """``value`` as JSON text, its spelling drawn: spaces, number forms, and about one string or
    object in ``odd`` (0: none) escaped, beyond ASCII or with a key given twice."""
    if isinstance(value, dict):
        members = []
        for key, item in value.items():
            spelled = f"{draw(spelled_string(key, odd))}{draw(SPACE)}:{draw(SPACE)}{draw(json_text(item, odd))}"
            members.append(spelled)
            if odd and draw(st.integers(1, odd)) == 1:  # a key twice, the later value differing
                again = draw(json_text(draw(st.sampled_from([None, 1, "put", {}])), 0))
                members.append(f"{json.dumps(key)}:{again}")
        return "{" + draw(SPACE) + ("," + draw(SPACE)).join(members) + draw(SPACE) + "}"
    if isinstance(value, list):
        return "[" + ",".join(draw(SPACE) + draw(json_text(item, odd)) for item in value) + draw(SPACE) + "]"
    if isinstance(value, str):
        return draw(spelled_string(value, odd))
    return draw(spelled_number(value))


@st.composite
def spelled_string(draw, text: str, odd: int) -> str:
    if not odd or draw(st.integers(1, odd)) > 1:
        return json.dumps(text)
    if text and draw(st.booleans()):
        at = draw(st.integers(0, len(text) - 1))
        return json.dumps(text[:at])[:-1] + f"\\u{ord(text[at]):04x}" + json.dumps(text[at + 1 :])[1:]
    return json.dumps(text + "é", ensure_ascii=False)


odd_values = st.sampled_from(
    [1e300, -1e-300, 2**63 - 1, -(2**63), 2**64, 0.1, 123456789012345678901234567890.5, -0.0, 5e-324, [[[[1]]]]]
)


@st.composite
def odd_page(draw) -> bytes:
    payload = draw(vendor_page(messy=draw(st.integers(0, 3)) == 0))  # messy rows mostly make it decline
    if payload.get("results") and draw(st.booleans()):
        row = draw(st.sampled_from(payload["results"]))
        if isinstance(row, dict):
            row[draw(st.sampled_from(["implied_volatility", "open_interest", "fmv"]))] = draw(odd_values)
    if draw(st.booleans()):
        payload["next_url"] = draw(st.sampled_from(["https://x/v3?cursor=YQ&b=1", "a\\u0026b", None, 5, ["x"]]))
    text = draw(json_text(payload, draw(st.sampled_from([0, 0, 300, 30])))).encode()
    cut = draw(st.sampled_from([None] * 8 + [-1, len(text) // 2]))  # now and then invalid JSON
    return text if cut is None else text[:cut]


@pytest.mark.skipif(FASTSCAN is None and not REQUIRE_SERVICES, reason="the C reader is not built")
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=odd_page())
def test_the_c_reader_reads_a_page_as_the_row_reader_or_declines_it(raw):
    # when the C reader reads the page (it returns None for a page it leaves to the exact readers)
    assert FASTSCAN is not None, "the C reader is not built (tools/build_fastscan.py)"
    scanned = FASTSCAN.scan_page(raw)

    # then a page it reads is valid JSON, and gives the row reader's columns, count and cursor
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        assert scanned is None
        return
    if scanned is None:
        return
    with reading("c_reader"):
        page = decode_snapshot_page(raw)
    assert page._scanned is not None
    old, new = page_columns(payload), decode.pages_columns([page], tickers=False)[0]
    assert (old.dropped, old.rows, old.newest_ns, old.price_ns) == (new.dropped, new.rows, new.newest_ns, new.price_ns)
    assert old.price == new.price or (math.isnan(old.price) and math.isnan(new.price))
    for name in ("expiry_day", "strike", "is_call", "bid", "ask", "vendor_iv", "vendor_delta", "open_interest"):
        a, b = getattr(old, name), getattr(new, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    assert np.array_equal(old.volume, new.volume, equal_nan=True)
    assert np.array_equal(old.quote_time_ns, new.quote_time_ns)
    assert page.contracts == len(payload.get("results") or []) and page.next_url == payload.get("next_url")
    assert page.expiries == listed_expiries(payload.get("results") or [])
