"""The move trigger, pure: thresholds, references, minimum interval, and frames we do not control."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.polygon import wire
from scanner.stream.trigger import Move, MoveTrigger

TRADES = wire.channel("T")


def trades(*events: tuple[str, float, int]) -> list[dict]:
    return [{"ev": "T", "sym": s, "p": p, "s": 100, "t": t, "c": [14]} for s, p, t in events]


def observe(trigger: MoveTrigger, records: list) -> list[Move]:
    return trigger.observe_records(records, TRADES.price_key, TRADES.time_key, TRADES.kinds)


def test_a_move_below_the_threshold_does_not_trigger_and_one_above_triggers_once():
    # given a watched ticker whose reference is 100
    trigger = MoveTrigger(0.005, 60_000)
    trigger.watch(["AAPL"], references={"AAPL": 100.0})
    # when it trades at 100.1, then 100.6, then 100.6 again
    quiet = observe(trigger, trades(("AAPL", 100.1, 1_000)))
    moved = observe(trigger, trades(("AAPL", 100.6, 2_000), ("AAPL", 100.6, 3_000)))
    # then only 100.6 triggers, once, and the reference moves to it
    assert quiet == []
    assert moved == [Move("AAPL", 100.6, 100.0, 2_000)]
    assert trigger.reference("AAPL") == 100.6


def test_a_move_down_triggers_too():
    # given a reference of 100
    trigger = MoveTrigger(0.005, 60_000)
    trigger.watch(["MSFT"], references={"MSFT": 100.0})
    # when the price falls 0.5%
    moves = observe(trigger, trades(("MSFT", 99.5, 1)))
    # then it triggers
    assert [m.price for m in moves] == [99.5]


def test_the_first_price_of_a_ticker_without_reference_becomes_its_reference():
    # given a watched ticker nobody scanned yet
    trigger = MoveTrigger(0.005, 60_000)
    trigger.watch(["NVDA"])
    # when it trades twice, 1% apart
    first = observe(trigger, trades(("NVDA", 50.0, 1)))
    second = observe(trigger, trades(("NVDA", 50.5, 2)))
    # then the first sets the reference (and is reported for saving) and the second triggers
    assert first == []
    assert trigger.take_first_references() == {"NVDA": 50.0}
    assert second == [Move("NVDA", 50.5, 50.0, 2)]


def test_the_minimum_interval_defers_a_second_move_until_it_has_passed():
    # given a ticker that just triggered at t = 0
    trigger = MoveTrigger(0.005, 60_000)
    trigger.watch(["TSLA"], references={"TSLA": 100.0})
    observe(trigger, trades(("TSLA", 101.0, 0)))
    # when it moves again 30 s later, then 61 s later
    early = observe(trigger, trades(("TSLA", 102.0, 30_000)))
    late = observe(trigger, trades(("TSLA", 102.0, 61_000)))
    # then the early move is suppressed (reference kept) and the late one triggers against 101
    assert early == []
    assert trigger.counts.suppressed == 1
    assert late == [Move("TSLA", 102.0, 101.0, 61_000)]


def test_a_per_ticker_threshold_overrides_the_default():
    # given AMD with a 2% threshold
    trigger = MoveTrigger(0.005, 0)
    trigger.watch(["AMD", "INTC"], thresholds={"AMD": 0.02}, references={"AMD": 100.0, "INTC": 100.0})
    # when both move 1%
    moves = observe(trigger, trades(("AMD", 101.0, 1), ("INTC", 101.0, 1)))
    # then only INTC triggers
    assert [m.symbol for m in moves] == ["INTC"]


def test_unwatched_tickers_are_dropped_and_other_event_kinds_are_ignored():
    # given one watched ticker
    trigger = MoveTrigger(0.005, 0)
    trigger.watch(["AAPL"], references={"AAPL": 100.0})
    trigger.unwatch(["AAPL"])
    trigger.watch(["MSFT"], references={"MSFT": 100.0})
    # when an unwatched ticker, a quote and a status arrive
    records = trades(("AAPL", 200.0, 1)) + [
        {"ev": "Q", "sym": "MSFT", "bp": 120.0, "ap": 121.0, "p": 120.0, "t": 1},
        {"ev": "status", "status": "success", "message": "subscribed to: T.MSFT"},
    ]
    moves = observe(trigger, records)
    # then nothing triggers
    assert moves == []
    assert trigger.counts.unwatched == 1 and trigger.counts.ignored == 2


def test_the_fast_band_agrees_with_the_exact_formula_at_the_boundary():
    # given references and prices on and around exactly 0.5%
    trigger = MoveTrigger(0.005, 0)
    prices = [100.5, 100.49999999, 99.5, 99.50000001, 100.50000001]
    for i, price in enumerate(prices):
        symbol = f"S{i}"
        trigger.watch([symbol], references={symbol: 100.0})
        # when each trades once
        moves = observe(trigger, trades((symbol, price, 1)))
        # then it triggers exactly when |p - ref| / ref >= threshold
        assert bool(moves) == (abs(price - 100.0) / 100.0 >= 0.005), price


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
    max_leaves=12,
)
price_like = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
event_like = st.fixed_dictionaries(
    {
        "ev": st.sampled_from(["T", "A", "Q", "status", 7]) | json_values,
        "sym": st.sampled_from(["AAPL", "MSFT", 3, None, ""]),
    },
    optional={"p": price_like, "t": price_like, "c": price_like, "e": price_like},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(event_like, json_values), max_size=20))
@example([{"ev": [], "sym": "AAPL", "p": 101.0, "t": 1}])  # an unhashable kind
def test_junk_records_never_crash_the_trigger(records):
    # given a watched ticker with a reference
    trigger = MoveTrigger(0.005, 0)
    trigger.watch(["AAPL", "MSFT"], references={"AAPL": 100.0})
    # when records of any shape arrive
    moves = observe(trigger, records)
    # then every move it reports is a well-formed move of a watched ticker
    for move in moves:
        assert move.symbol in {"AAPL", "MSFT"} and move.price > 0 and isinstance(move.at_ms, int)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_junk_frames_decode_to_a_list(raw):
    # given any bytes off the socket
    # when they are decoded
    records = wire.decode(raw)
    # then the result is a list (empty unless it was a JSON array) and statuses never raise
    assert isinstance(records, list)
    list(wire.statuses(records))
