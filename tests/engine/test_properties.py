"""Properties over inputs we do not control: surfaces, scales, and junk snapshots."""

import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.engine.chain import OptionChain
from scanner.engine.forward import forward_factor
from scanner.engine.scan import scan_chain
from scanner.polygon.snapshot_scan import scan_pages

from .synthetic import build_chain, term, to_pages

DTES = [7, 30, 45, 60, 90, 120]
STRIKES = np.arange(60.0, 141.0, 2.5)


@given(
    front=st.floats(0.05, 3.0),
    bump=st.floats(1e-4, 1.0),
    back=st.floats(0.05, 3.0),
    front_days=st.integers(1, 200),
    extra_days=st.integers(1, 400),
)
def test_ff_rises_with_front_iv(front, bump, back, front_days, extra_days):
    # given two front IVs, the second higher, against the same back leg
    t1, t2 = front_days / 365, (front_days + extra_days) / 365
    # when
    low, high = forward_factor(front, t1, back, t2), forward_factor(front + bump, t1, back, t2)
    # then wherever both exist the richer front has the higher FF
    if low is not None and high is not None:
        assert high > low


@settings(max_examples=25, deadline=None)
@given(
    vols=st.lists(st.floats(0.1, 1.2), min_size=len(DTES), max_size=len(DTES)),
    scale=st.floats(0.05, 50.0),
)
def test_signals_do_not_change_when_prices_and_strikes_scale_together(vols, scale):
    # given a chain priced from a term structure, and the same chain with every price and strike scaled
    chain = build_chain(DTES, STRIKES, term(dict(zip(DTES, vols))), half_spread=0.001)
    scaled = OptionChain(
        **{
            **chain.__dict__,
            "underlying_price": chain.underlying_price * scale,
            "strike": chain.strike * scale,
            "bid": chain.bid * scale,
            "ask": chain.ask * scale,
        }
    )
    # when
    base, moved = scan_chain(chain).signals, scan_chain(scaled).signals
    # then
    assert [(s["pair"], s["structure"]) for s in base] == [(s["pair"], s["structure"]) for s in moved]
    for one, other in zip(base, moved):
        for key in ("ff", "front_iv", "back_iv", "ff_constant_maturity"):
            if one[key] is None:
                assert other[key] is None
            else:
                assert math.isclose(one[key], other[key], rel_tol=1e-7, abs_tol=1e-9), key
        assert math.isclose(one["debit"] * scale, other["debit"], rel_tol=1e-9)
        assert math.isclose(one["strike"] * scale, other["strike"], rel_tol=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vols=st.lists(st.floats(0.01, 4.0), min_size=len(DTES), max_size=len(DTES)),
    skew=st.floats(-2.0, 2.0),
    spot=st.floats(1.0, 2000.0),
    half_spread=st.floats(0.0001, 0.5),
)
def test_signals_never_carry_nan(vols, skew, spot, half_spread):
    # given wild surfaces, including inverted and skewed ones
    def surface(dte, strikes):
        return np.clip(vols[DTES.index(dte)] + skew * np.log(strikes / 100.0), 0.02, 4.5)

    chain = build_chain(DTES, STRIKES * spot / 100.0, surface, spot=spot, half_spread=half_spread)
    # when
    result = scan_chain(chain)
    # then every figure is a finite number or None, and an empty result explains itself
    json.dumps(result.signals, allow_nan=False)
    assert result.signals or result.notes


_maybe = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), st.text(max_size=3))
_row = st.fixed_dictionaries(
    {},
    optional={
        "details": st.fixed_dictionaries(
            {},
            optional={
                "contract_type": st.sampled_from(["call", "put", "CALL", None, 1]),
                "expiration_date": st.sampled_from(["2025-04-02", "2025-05-02", "2020-01-17", "2025-13-01", None, 5]),
                "strike_price": st.one_of(st.sampled_from([95.0, 100.0, 105.0]), _maybe),
                "shares_per_contract": st.sampled_from([100, 10, None]),
            },
        ),
        "last_quote": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "bid": st.one_of(st.floats(0.5, 5.0), _maybe),
                    "ask": st.one_of(st.floats(0.5, 5.0), _maybe),
                    "last_updated": st.sampled_from([1741014000000000000, 0, None, "x"]),
                },
            ),
        ),
        "implied_volatility": _maybe,
        "greeks": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"delta": _maybe})),
        "open_interest": _maybe,
        "day": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"volume": _maybe})),
        "underlying_asset": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "price": st.one_of(st.just(100.0), _maybe),
                    "last_updated": st.sampled_from([1741014000000000000, None]),
                    "ticker": st.just("JUNK"),
                },
            ),
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    pages=st.lists(
        st.one_of(st.fixed_dictionaries({"results": st.lists(_row, max_size=30)}), st.just({}), st.integers()),
        max_size=4,
    )
)
def test_junk_snapshots_never_raise_and_say_why_they_gave_nothing(pages):
    # given pages with missing fields, NaN, zero/crossed quotes, duplicates, past expiries, wrong types
    # when
    result = scan_pages(pages)
    # then
    json.dumps(result.signals, allow_nan=False)
    if not result.signals:
        assert result.notes and all(isinstance(note, str) and note for note in result.notes)


def test_synthetic_pages_round_trip_through_the_parser():
    # given a synthetic chain written as vendor pages
    chain = build_chain([30, 60, 90], STRIKES, term({30: 0.45, 60: 0.35, 90: 0.33}))
    # when
    direct, via_pages = scan_chain(chain).signals, scan_pages(to_pages(chain)).signals
    # then
    assert direct == via_pages
