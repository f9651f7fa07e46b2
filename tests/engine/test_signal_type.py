"""Every signal the engine produces has exactly the keys its declared type says, so readers can trust it."""

from datetime import timedelta

import numpy as np
import pytest

from scanner.engine import EarningsInput, FFSignal, Leg, scan_chain
from scanner.engine.timing import trading_date
from testing.factories import signal_dict

from .synthetic import AS_OF, build_chain, term

DOUBLE_ONLY = {"put_strike", "call_ff", "put_ff", "min_ff", "call_forward_iv", "put_forward_iv"}


def assert_has_declared_keys(value: dict, declared: type) -> None:
    keys = set(value)
    assert declared.__required_keys__ <= keys, f"missing {sorted(declared.__required_keys__ - keys)}"
    undeclared = keys - declared.__required_keys__ - declared.__optional_keys__
    assert not undeclared, f"not declared in {declared.__name__}: {sorted(undeclared)}"


def assert_is_ff_signal(signal: dict) -> None:
    assert_has_declared_keys(signal, FFSignal)
    for leg in signal["legs"]:
        assert_has_declared_keys(leg, Leg)


def synthetic_signals(with_earnings: bool) -> list[FFSignal]:
    dtes = [7, 14, 21, 28, 35, 42, 60, 90]
    chain = build_chain(dtes, np.arange(70.0, 131.0, 2.5), term({d: 0.45 - d / 1000 for d in dtes}), vendor_iv=True)
    earnings = [EarningsInput(trading_date(AS_OF) + timedelta(days=32), expected_move=0.05)] if with_earnings else []
    return scan_chain(chain, earnings=earnings).signals


@pytest.mark.parametrize("with_earnings", [False, True], ids=["no_earnings", "earnings"])
@pytest.mark.parametrize("structure", ["atm_call_calendar", "double_calendar"])
def test_every_signal_has_exactly_the_declared_keys(structure: str, with_earnings: bool):
    # given a synthetic chain with every default pair listed
    # when
    signals = [s for s in synthetic_signals(with_earnings) if s["structure"] == structure]
    # then
    assert len(signals) == 3  # 30-60, 30-90, 60-90
    for signal in signals:
        assert_is_ff_signal(signal)
        assert bool(signal["earnings_dates"]) == with_earnings
        assert ("earnings_in_window" in signal["flags"]) == with_earnings
        assert (signal["ff_ex_earnings"] is not None) == with_earnings


def test_only_a_double_calendar_reports_its_sides_and_front_deltas():
    # given / when
    signals = synthetic_signals(with_earnings=False)
    # then
    for signal in signals:
        double = signal["structure"] == "double_calendar"
        assert DOUBLE_ONLY & set(signal) == (DOUBLE_ONLY if double else set())
        with_delta = [leg["leg"] for leg in signal["legs"] if "delta" in leg]
        assert with_delta == (["front_call", "front_put"] if double else [])


def test_double_only_keys_are_the_optional_ones():
    # the type declares as optional exactly what only one structure reports
    assert FFSignal.__optional_keys__ == DOUBLE_ONLY
    assert Leg.__optional_keys__ == {"delta"}


@pytest.mark.parametrize("structure", ["atm_call_calendar", "double_calendar"])
def test_the_hand_made_signals_of_the_tests_are_complete_too(structure: str):
    # given the factory the routing and email tests feed on (it must not hide a key readers need)
    # when
    signal = signal_dict(structure=structure)
    # then
    assert_is_ff_signal(signal)
    assert DOUBLE_ONLY & set(signal) == (DOUBLE_ONLY if structure == "double_calendar" else set())
