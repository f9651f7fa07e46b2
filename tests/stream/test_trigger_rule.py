"""The trigger rule: scan levels scaled by volatility and cost, the longest wait, deferred moves."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.polygon import wire
from scanner.stream.rule import MAX_LEVEL, Profile, TriggerRule, atm_volatility
from scanner.stream.trigger import Move, MoveTrigger

AGGREGATES = wire.channel("A")
RULE = TriggerRule(max_wait_s=180, reference_vol=0.30, reference_cost=4)

vols = st.floats(min_value=0.01, max_value=3.0)
costs = st.floats(min_value=0, max_value=50)
moves = st.floats(min_value=0.001, max_value=0.05)


# --- the rule --------------------------------------------------------------------------------------
def test_a_quiet_or_cheap_ticker_scans_on_the_move_and_a_volatile_costly_one_on_a_larger_one():
    # given the default rule (reference: 30 % volatility, 4 requests a scan)
    # when we ask the scan level of a quiet name, a cheap volatile one and a volatile costly one
    quiet = RULE.level(0.005, Profile(0.20, 4))
    free = RULE.level(0.005, Profile(0.90, 0))
    costly = RULE.level(0.005, Profile(0.60, 16))
    # then the first two scan on 0.5 % itself, the third on 0.5 % × √(16/4) × 0.6/0.3 = 2 %
    assert quiet == free == 0.005
    assert math.isclose(costly, 0.02)


def test_without_a_volatility_the_move_itself_triggers_and_without_a_cost_the_reference_cost_counts():
    assert RULE.level(0.005, None) == RULE.level(0.005, Profile(None, 9)) == 0.005
    assert math.isclose(RULE.level(0.005, Profile(0.60, None)), 0.01)


@given(moves, vols, costs, vols, costs)
def test_the_scan_level_never_falls_below_the_move_and_grows_with_volatility_and_cost(move, vol, cost, vol2, cost2):
    # given any move and two profiles, the second at least as volatile and costly as the first
    low, high = Profile(min(vol, vol2), min(cost, cost2)), Profile(max(vol, vol2), max(cost, cost2))
    # when both levels are computed
    a, b = RULE.level(move, low), RULE.level(move, high)
    # then each is at least the move, capped, and the riskier profile's is not lower
    assert move <= a <= b <= max(move, MAX_LEVEL)


@given(moves, vols, st.floats(min_value=0.1, max_value=50))
def test_the_scan_level_caps_a_names_expected_request_spend_at_the_references(move, vol, cost):
    # given a name whose level is above the move (and below the cap)
    level = RULE.level(move, Profile(vol, cost))
    if move < level < MAX_LEVEL:
        # then its spend under a random walk, cost × σ² / level², equals the reference's at the move
        spend = cost * vol**2 / level**2
        reference = RULE.reference_cost * RULE.reference_vol**2 / move**2
        assert math.isclose(spend, reference, rel_tol=1e-9)


junk_points = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"dte": st.integers(-5, 400), "atm_iv": st.floats(allow_nan=True, allow_infinity=True)},
            optional={"source": st.sampled_from(["chain", "probe"])},
        ),
        st.dictionaries(st.text(max_size=6), st.none() | st.integers() | st.text(max_size=4), max_size=3),
        st.none(),
        st.integers(),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(junk_points)
def test_the_volatility_of_a_term_structure_of_any_shape_is_none_or_a_positive_number(points):
    vol = atm_volatility(points)
    assert vol is None or (math.isfinite(vol) and vol > 0)


def test_the_volatility_is_the_first_expiry_at_least_a_week_out():
    points = [
        {"expiry": "2026-12-02", "dte": 2, "atm_iv": 0.9, "source": "chain"},
        {"expiry": "2026-12-18", "dte": 18, "atm_iv": 0.31, "source": "chain"},
        {"expiry": "2026-12-11", "dte": 11, "atm_iv": 0.33, "source": "probe"},
    ]
    assert atm_volatility(points) == 0.33
    assert atm_volatility(points[:1]) == 0.9
    assert atm_volatility([]) is None and atm_volatility(None) is None


# --- the trigger with the rule ---------------------------------------------------------------------
def volatile_trigger(min_interval_ms: int = 0) -> MoveTrigger:
    """TSLA scans on 2 % (0.60 volatility, 16 requests), or 180 s after a 0.5 % move."""
    trigger = MoveTrigger(0.005, min_interval_ms, RULE)
    trigger.watch(["TSLA"], references={"TSLA": 100.0}, profiles={"TSLA": Profile(0.60, 16)})
    return trigger


def aggregates(*events: tuple[str, float, int]) -> list[dict]:
    return [{"ev": "A", "sym": s, "c": p, "e": t, "s": t - 1000} for s, p, t in events]


def observe(trigger: MoveTrigger, *events: tuple[str, float, int]) -> list[Move]:
    return trigger.observe_records(aggregates(*events), AGGREGATES.price_key, AGGREGATES.time_key, AGGREGATES.kinds)


def test_a_move_below_the_scan_level_waits_and_triggers_at_the_end_of_the_wait():
    # given TSLA scanning on 2 %
    trigger = volatile_trigger()
    # when it moves 0.6 % at t = 10 s and drifts back to 0.2 %
    assert observe(trigger, ("TSLA", 100.6, 10_000), ("TSLA", 100.2, 60_000)) == []
    assert trigger.armed_since("TSLA") == 10_000
    # then nothing is due before 190 s, and at 190 s the move triggers with the price that armed it
    assert trigger.due(189_999) == []
    assert trigger.due(190_000) == [Move("TSLA", 100.6, 100.0, 190_000)]
    assert trigger.counts.waited == 1 and trigger.armed_since("TSLA") is None
    assert trigger.due(400_000) == []


def test_a_move_that_reaches_the_scan_level_triggers_at_once():
    # given TSLA armed by a 0.6 % move
    trigger = volatile_trigger()
    observe(trigger, ("TSLA", 100.6, 10_000))
    # when it reaches 2 % thirty seconds later
    moved = observe(trigger, ("TSLA", 102.0, 40_000))
    # then it triggers there, and nothing is left waiting
    assert moved == [Move("TSLA", 102.0, 100.0, 40_000)]
    assert trigger.due(10**9) == []


def test_a_scan_in_between_disarms_and_a_new_profile_moves_the_scan_level():
    # given TSLA armed
    trigger = volatile_trigger()
    observe(trigger, ("TSLA", 100.6, 10_000))
    # when a heartbeat scan at 100.5 reports a calmer, cheaper name
    trigger.follow_scan("TSLA", 100.5, Profile(0.20, 4))
    # then the wait is over without a move, and 0.5 % from 100.5 now triggers at once
    assert trigger.due(10**9) == []
    assert trigger.scan_level("TSLA") == 0.005
    assert observe(trigger, ("TSLA", 101.01, 20_000)) == [Move("TSLA", 101.01, 100.5, 20_000)]


def test_a_watch_set_refresh_keeps_a_ticker_armed():
    trigger = volatile_trigger()
    observe(trigger, ("TSLA", 100.6, 10_000))
    trigger.watch(["TSLA"])
    assert trigger.armed_since("TSLA") == 10_000
    assert trigger.due(190_000) == [Move("TSLA", 100.6, 100.0, 190_000)]


def test_an_operators_threshold_is_taken_literally():
    trigger = MoveTrigger(0.005, 0, RULE)
    trigger.watch(["TSLA"], thresholds={"TSLA": 0.01}, references={"TSLA": 100.0}, profiles={"TSLA": Profile(0.9, 40)})
    assert trigger.scan_level("TSLA") == 0.01
    assert observe(trigger, ("TSLA", 101.0, 1)) == [Move("TSLA", 101.0, 100.0, 1)]


def test_a_move_inside_the_minimum_interval_is_deferred_to_its_end_not_dropped():
    # given the plain rule with a 60 s interval, AAPL just triggered at t = 0
    trigger = MoveTrigger(0.005, 60_000)
    trigger.watch(["AAPL"], references={"AAPL": 100.0})
    observe(trigger, ("AAPL", 101.0, 0))
    # when it moves again at 30 s and comes back inside the threshold
    assert observe(trigger, ("AAPL", 102.0, 30_000), ("AAPL", 101.2, 45_000)) == []
    # then the move is scanned when the interval ends, at the price that moved
    assert trigger.counts.suppressed == 1
    assert trigger.due(59_999) == []
    assert trigger.due(60_000) == [Move("AAPL", 102.0, 101.0, 60_000)]


# --- the guarantee, over price paths of any shape --------------------------------------------------
steps = st.lists(st.floats(min_value=-0.004, max_value=0.004), min_size=1, max_size=400)


@settings(max_examples=200, deadline=None)
@given(steps, vols, costs, st.sampled_from([0, 5_000, 60_000]), st.sampled_from([0, 30, 180]))
def test_every_move_of_the_threshold_is_scanned_within_the_wait_and_nothing_else_triggers(
    log_steps, vol, cost, min_interval_ms, wait_s
):
    # given a ticker with any profile, fed one price a second and asked for due moves every second
    rule = TriggerRule(max_wait_s=wait_s)
    trigger = MoveTrigger(0.005, min_interval_ms, rule)
    trigger.watch(["X"], references={"X": 100.0}, profiles={"X": Profile(vol, cost)})
    reference, first_moved, last_trigger = 100.0, None, None
    price = 100.0
    for second, step in enumerate(log_steps, start=1):
        price *= math.exp(step)
        at_ms = second * 1000
        triggered = observe(trigger, ("X", price, at_ms)) + trigger.due(at_ms)
        if first_moved is None and abs(price - reference) / reference >= 0.005:
            first_moved = at_ms
        if triggered:
            # then a trigger only ever follows a move of the threshold since the reference ...
            assert len(triggered) == 1 and first_moved is not None
            assert triggered[0].reference == reference
            if last_trigger is not None:
                assert at_ms - last_trigger >= min_interval_ms
            reference, first_moved, last_trigger = triggered[0].price, None, at_ms
            # (the scan's own price replaces the trigger's, as the consumer's follow_scan does)
            trigger.follow_scan("X", price)
            reference = price
        elif first_moved is not None:
            # ... and a move waits no longer than the wait, or the minimum interval's end
            allowed = last_trigger + min_interval_ms if last_trigger is not None else 0
            assert at_ms < max(first_moved + wait_s * 1000, allowed)


@settings(max_examples=200, deadline=None)
@given(steps, vols, costs)
def test_the_fast_band_agrees_with_the_exact_path_event_by_event(log_steps, vol, cost):
    # given two triggers with the same rule and profile
    fast, exact = volatile_trigger(), volatile_trigger()
    for trigger in (fast, exact):
        trigger.watch(["TSLA"], profiles={"TSLA": Profile(vol, cost)})
    # when one sees the prices in frames through the band and the other one by one, exactly
    price = 100.0
    for second, step in enumerate(log_steps, start=1):
        price *= math.exp(step)
        at_ms = second * 1000
        a = observe(fast, ("TSLA", price, at_ms)) + fast.due(at_ms)
        b = [m for m in [exact.observe("TSLA", price, at_ms)] if m is not None] + exact.due(at_ms)
        # then they trigger on the same events with the same moves
        assert a == b
