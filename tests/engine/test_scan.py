"""Hand-worked chains for each step of the engine."""

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.forward import forward_factor
from scanner.engine.scan import EarningsInput, scan_chain
from scanner.engine.timing import trading_date, years_to_expiry

from .synthetic import AS_OF, build_chain, term

ZERO_RATE = EngineConfig(risk_free_rate=0.0)
TODAY = trading_date(AS_OF)


def hand_chain(rows: list[dict], spot: float = 101.0, as_of: datetime = AS_OF) -> OptionChain:
    """rows: dte, strike, call, iv, delta (optional), bid/ask/oi/volume (defaults liquid)."""

    def col(key, default, dtype=np.float64):
        return np.array([r.get(key, default) for r in rows], dtype=dtype)

    return OptionChain(
        ticker="HAND",
        underlying_price=spot,
        as_of=as_of,
        expiry=np.array([np.datetime64(TODAY + timedelta(days=r["dte"]), "D") for r in rows]),
        strike=col("strike", 0.0),
        is_call=col("call", True, bool),
        bid=col("bid", 1.00),
        ask=col("ask", 1.04),
        vendor_iv=col("iv", np.nan),
        vendor_delta=col("delta", np.nan),
        open_interest=col("oi", 500.0),
        volume=col("volume", 50.0),
        quote_time_ns=col("quote_ns", int(as_of.timestamp() * 1e9), np.int64),
    )


def pair_rows(front_ivs: dict, back_iv: float, strikes=(95.0, 100.0, 105.0), **extra) -> list[dict]:
    rows = []
    for strike in strikes:
        for call in (True, False):
            rows.append({"dte": 30, "strike": strike, "call": call, "iv": front_ivs[(call, strike)], **extra})
            rows.append({"dte": 60, "strike": strike, "call": call, "iv": back_iv, **extra})
    return rows


def only(result, structure="atm_call_calendar", pair="30-60"):
    [signal] = [s for s in result.signals if s["structure"] == structure and s["pair"] == pair]
    return signal


def years(dte: int) -> float:
    return float(years_to_expiry(np.array([np.datetime64(TODAY + timedelta(days=dte), "D")]), AS_OF)[0])


def test_atm_iv_interpolates_at_the_forward_and_averages_calls_and_puts():
    # given r = 0 so F = S = 101: between strikes 100 and 105 at weight 0.2;
    # calls 40% -> 35% interpolate to 39%, puts 42% -> 37% to 41%: ATM 40%
    front = {
        (True, 95.0): 0.45,
        (True, 100.0): 0.40,
        (True, 105.0): 0.35,
        (False, 95.0): 0.47,
        (False, 100.0): 0.42,
        (False, 105.0): 0.37,
    }
    chain = hand_chain(pair_rows(front, back_iv=0.30))
    # when
    signal = only(scan_chain(chain, ZERO_RATE))
    # then
    assert signal["front_iv"] == pytest.approx(0.40)
    assert signal["back_iv"] == pytest.approx(0.30)
    assert signal["strike"] == 100.0  # the listed strike nearest the forward
    assert signal["ff"] == pytest.approx(forward_factor(0.40, years(30), 0.30, years(60)))
    assert [leg["leg"] for leg in signal["legs"]] == ["front_call", "back_call"]


def test_atm_iv_uses_the_valid_side_alone_when_puts_have_no_iv():
    # given puts without any IV (vendor none, quotes too wide to solve)
    front = {
        (True, 95.0): 0.45,
        (True, 100.0): 0.40,
        (True, 105.0): 0.35,
        (False, 95.0): np.nan,
        (False, 100.0): np.nan,
        (False, 105.0): np.nan,
    }
    rows = pair_rows(front, back_iv=0.30)
    for row in rows:
        if not row["call"] and row["dte"] == 30:
            row.update(bid=0.10, ask=1.00)
    # when
    signal = only(scan_chain(hand_chain(rows), ZERO_RATE))
    # then
    assert signal["front_iv"] == pytest.approx(0.39)


def test_double_calendar_picks_the_35_delta_strikes_listed_in_the_back():
    # given vendor deltas: calls 100 .55, 105 .37, 110 .30; puts 90 -.20, 95 -.33, 100 -.45;
    # the 105 call is not listed in the back expiry
    rows = []
    for strike, call, delta in [
        (100, True, 0.55),
        (105, True, 0.37),
        (110, True, 0.30),
        (90, False, -0.20),
        (95, False, -0.33),
        (100, False, -0.45),
    ]:
        rows.append({"dte": 30, "strike": strike, "call": call, "iv": 0.40, "delta": delta})
        if (strike, call) != (105, True):
            rows.append({"dte": 60, "strike": strike, "call": call, "iv": 0.30})
    # when
    signal = only(scan_chain(hand_chain(rows, spot=100.0), ZERO_RATE), "double_calendar")
    # then
    assert signal["strike"] == 110.0 and signal["put_strike"] == 95.0
    assert [leg["leg"] for leg in signal["legs"]] == ["front_call", "back_call", "front_put", "back_put"]
    assert signal["legs"][0]["delta"] == 0.30 and signal["legs"][2]["delta"] == -0.33
    assert signal["min_ff"] == signal["ff"] == min(signal["call_ff"], signal["put_ff"])


def test_double_calendar_reports_each_side_and_ranks_on_the_lower():
    # given a put skew: front puts 42%, calls 40%, back 35% everywhere
    rows = []
    for strike, call, delta in [(110, True, 0.35), (90, False, -0.35)]:
        rows.append({"dte": 30, "strike": strike, "call": call, "iv": 0.42 if not call else 0.40, "delta": delta})
        rows.append({"dte": 60, "strike": strike, "call": call, "iv": 0.35})
    # when
    signal = only(scan_chain(hand_chain(rows, spot=100.0), ZERO_RATE), "double_calendar")
    # then
    assert signal["call_ff"] == pytest.approx(forward_factor(0.40, years(30), 0.35, years(60)))
    assert signal["put_ff"] == pytest.approx(forward_factor(0.42, years(30), 0.35, years(60)))
    assert signal["ff"] == signal["call_ff"] < signal["put_ff"]
    assert signal["front_iv"] == 0.40


def test_liquidity_reasons_name_the_leg_and_the_figure():
    # given a front call with OI 40, volume 3 and a 12% spread; a back call with no OI known
    front = {(c, k): 0.40 for c in (True, False) for k in (95.0, 100.0, 105.0)}
    rows = pair_rows(front, back_iv=0.30)
    for row in rows:
        if row["call"] and row["strike"] == 100.0:
            if row["dte"] == 30:
                row.update(oi=40, volume=3, bid=0.94, ask=1.06)
            else:
                row.update(oi=np.nan)
    # when
    signal = only(scan_chain(hand_chain(rows), ZERO_RATE))
    # then
    assert signal["passes_liquidity"] is False
    assert signal["reasons"] == [
        "front_call open interest 40 < 100",
        "front_call volume 3 < 10",
        "front_call spread 12.0% of mid > 8%",
        "back_call open interest unknown",
    ]
    assert signal["legs"][0]["open_interest"] == 40 and signal["legs"][0]["spread_pct"] == pytest.approx(12.0)


def test_inverted_pair_is_reported_with_no_ff():
    # given front 60%, back 40%: σ2²T2 < σ1²T1
    front = {(c, k): 0.60 for c in (True, False) for k in (95.0, 100.0, 105.0)}
    # when
    signal = only(scan_chain(hand_chain(pair_rows(front, back_iv=0.40)), ZERO_RATE))
    # then
    assert signal["ff"] is None and signal["forward_iv"] is None
    assert "inverted" in signal["flags"]
    assert any(reason.startswith("inverted") for reason in signal["reasons"])


def test_forward_vol_below_floor_gives_no_ff():
    # given a back IV leaving a 4% forward vol
    t1, t2 = years(30), years(60)
    back = math.sqrt((0.40**2 * t1 + 0.04**2 * (t2 - t1)) / t2)
    front = {(c, k): 0.40 for c in (True, False) for k in (95.0, 100.0, 105.0)}
    # when
    signal = only(scan_chain(hand_chain(pair_rows(front, back_iv=back)), ZERO_RATE))
    # then
    assert signal["ff"] is None and signal["forward_iv"] == pytest.approx(0.04)
    assert "forward_vol_below_floor" in signal["flags"]


def test_earnings_inside_the_window_gives_ex_earnings_ff_and_a_flag():
    # given earnings in 10 days with a 6% expected move
    front = {(c, k): 0.40 for c in (True, False) for k in (95.0, 100.0, 105.0)}
    chain = hand_chain(pair_rows(front, back_iv=0.30))
    event = EarningsInput(TODAY + timedelta(days=10), expected_move=0.06)
    # when
    signal = only(scan_chain(chain, ZERO_RATE, earnings=[event]))
    plain = only(scan_chain(chain, ZERO_RATE))
    # then both legs lose the event variance: σ_ex² = (σ²T − m²)/(T − 1/365)
    t1, t2 = years(30), years(60)
    front_ex = math.sqrt((0.16 * t1 - 0.0036) / (t1 - 1 / 365))
    back_ex = math.sqrt((0.09 * t2 - 0.0036) / (t2 - 1 / 365))
    assert "earnings_in_window" in signal["flags"] and "earnings_in_window" not in plain["flags"]
    assert signal["ff_ex_earnings"] == pytest.approx(forward_factor(front_ex, t1, back_ex, t2))
    assert plain["ff_ex_earnings"] is None
    assert signal["ff"] == plain["ff"]


def test_unknown_move_is_estimated_from_the_expiries_around_the_event():
    # given a flat 30% surface except the expiries from 35 days on, which carry a 5% event at day 32
    dtes = [7, 14, 21, 28, 35, 42, 60, 90]
    move, event_day = 0.05, 32
    vols = {}
    for d in dtes:
        t = years(d)
        vols[d] = math.sqrt(0.09 + (move**2 / t if d >= event_day else 0.0))
    chain = build_chain(dtes, np.arange(70.0, 131.0, 2.5), term(vols), vendor_iv=True)
    # when
    result = scan_chain(chain, earnings=[EarningsInput(TODAY + timedelta(days=event_day))])
    # then the 60-90 pair (both legs after the event) gets an ex-earnings FF near the flat-vol value 0
    signal = only(result, pair="60-90")
    assert "earnings_in_window" in signal["flags"] and "earnings_move_unknown" not in signal["flags"]
    assert signal["ff_ex_earnings"] == pytest.approx(0.0, abs=0.02)


def _kinked_vol(d: float) -> float:
    """w(T) = 0.16·T for T < 45 days, then grows slower: w = 0.16·T45 + 0.04·(T − T45)."""
    t, t45 = years(d), 45 / 365
    return math.sqrt((0.16 * min(t, t45) + 0.04 * max(t - t45, 0)) / t)


def _interpolated(target: int, a: int, b: int) -> tuple[float, float]:
    ta, tb, tt = years(a), years(b), years(target)
    w = _kinked_vol(a) ** 2 * ta + (_kinked_vol(b) ** 2 * tb - _kinked_vol(a) ** 2 * ta) * (tt - ta) / (tb - ta)
    return math.sqrt(w / tt), tt


def test_constant_maturity_ff_interpolates_total_variance_between_the_pair_expiries():
    # given weeklies at 28/35 and 56/63 days; the pairs pick 28, 63 and 91
    dtes = [28, 35, 56, 63, 91]
    chain = build_chain(dtes, np.arange(80.0, 121.0, 2.5), term({d: _kinked_vol(d) for d in dtes}), vendor_iv=True)
    # when
    signal = only(scan_chain(chain), pair="30-60")
    # then the labelled figure is the FF of the variances at exactly 30 and 60 days, both interpolated
    # between the pair expiries 28 and 63 (they straddle both points, so 35 and 56 are not needed)
    (f_iv, f_t), (b_iv, b_t) = _interpolated(30, 28, 63), _interpolated(60, 28, 63)
    assert signal["ff_constant_maturity"] == pytest.approx(forward_factor(f_iv, f_t, b_iv, b_t), rel=1e-9)
    assert signal["ff_constant_maturity_basis"] == "atm_forward_total_variance"


def test_constant_maturity_ff_takes_a_listed_expiry_where_the_pair_expiries_do_not_straddle():
    # given a 30-60 pair on 32 and 62 days, with 25 days listed below 30
    dtes = [25, 32, 62]
    chain = build_chain(dtes, np.arange(80.0, 121.0, 2.5), term({d: _kinked_vol(d) for d in dtes}), vendor_iv=True)
    # when
    signal = only(scan_chain(chain, EngineConfig(pairs=((30, 60),))), pair="30-60")
    # then 30 days comes from 25 and 32, 60 days from the pair expiries 32 and 62
    (f_iv, f_t), (b_iv, b_t) = _interpolated(30, 25, 32), _interpolated(60, 32, 62)
    assert signal["ff_constant_maturity"] == pytest.approx(forward_factor(f_iv, f_t, b_iv, b_t), rel=1e-9)


def test_stale_quotes_are_flagged_not_hidden():
    # given legs last quoted an hour before the scan time
    front = {(c, k): 0.40 for c in (True, False) for k in (95.0, 100.0, 105.0)}
    chain = hand_chain(pair_rows(front, back_iv=0.30))
    # when
    signal = only(scan_chain(chain, ZERO_RATE, as_of=AS_OF + timedelta(hours=1)))
    # then
    assert "stale_quotes" in signal["flags"] and signal["ff"] is not None


def test_ivs_solved_from_mids_match_the_surface_and_are_flagged():
    # given a chain with no vendor IVs, priced at 45% (30 d) and 35% (60 d)
    chain = build_chain([30, 60], np.arange(70.0, 131.0, 2.5), term({30: 0.45, 60: 0.35}), half_spread=0.0001)
    # when
    signal = only(scan_chain(chain))
    # then
    assert signal["front_iv"] == pytest.approx(0.45, abs=1e-6)
    assert signal["back_iv"] == pytest.approx(0.35, abs=1e-6)
    assert "iv_solved_from_mid" in signal["flags"]
    assert signal["legs"][0]["iv_source"] == "mid"


def test_signal_dicts_are_plain_json():
    # given a normal chain
    chain = build_chain([30, 60, 90], np.arange(70.0, 131.0, 2.5), term({30: 0.45, 60: 0.35, 90: 0.33}))
    # when
    signals = scan_chain(chain).signals
    # then
    assert len(signals) == 6
    assert json.loads(json.dumps(signals, allow_nan=False)) == signals
    assert signals[0]["as_of"] == AS_OF.isoformat()


def test_empty_chain_says_why():
    # given a chain whose every quote was dropped
    chain = hand_chain([{"dte": 30, "strike": 100.0}])
    empty = OptionChain(
        **{
            **chain.__dict__,
            **{
                k: getattr(chain, k)[:0]
                for k in (
                    "expiry",
                    "strike",
                    "is_call",
                    "bid",
                    "ask",
                    "vendor_iv",
                    "vendor_delta",
                    "open_interest",
                    "volume",
                    "quote_time_ns",
                )
            },
            "dropped": {"crossed_quote": 7},
        }
    )
    # when
    result = scan_chain(empty)
    # then
    assert result.signals == []
    assert result.notes == ["no usable quotes in the chain (dropped: crossed_quote 7)"]


def test_no_expiry_near_30_days_says_so():
    # given only 10 and 200 day expiries
    chain = build_chain([10, 200], np.arange(80.0, 121.0, 5.0), term({10: 0.3, 200: 0.3}))
    # when
    result = scan_chain(chain)
    # then
    assert result.signals == []
    assert any("no expiry within 5 days of 30 DTE" in note for note in result.notes)


def test_as_of_defaults_to_the_chain_timestamp():
    # given a chain stamped AS_OF
    chain = build_chain([30, 60], np.arange(80.0, 121.0, 5.0), term({30: 0.4, 60: 0.3}))
    # when
    result = scan_chain(chain)
    # then
    assert result.as_of == AS_OF and result.signals[0]["front_dte"] == 30
    assert AS_OF.tzinfo is UTC and isinstance(result.as_of, datetime)
