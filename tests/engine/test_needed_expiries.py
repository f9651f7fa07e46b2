"""The fetcher brings only needed_expiries: a scan of those alone must equal a scan of the whole chain."""

import math
from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.scan import EarningsInput, scan_chain
from scanner.engine.selection import needed_expiries
from scanner.engine.timing import trading_date

from .synthetic import AS_OF, build_chain

TODAY = trading_date(AS_OF)
STRIKES = np.arange(70.0, 131.0, 5.0)


def only_expiries(chain: OptionChain, keep: list[date]) -> OptionChain:
    rows = np.isin(chain.expiry, np.array(keep, dtype="datetime64[D]"))
    arrays = {k: v[rows] for k, v in chain.__dict__.items() if isinstance(v, np.ndarray)}
    return OptionChain(**{**chain.__dict__, **arrays})


def same(one, other, path="signal") -> None:
    """Equal, floats to 1e-12 (the vectorized solver may round differently in another batch size)."""
    if isinstance(one, float) and isinstance(other, float):
        assert math.isclose(one, other, rel_tol=1e-12, abs_tol=1e-15), path
    elif isinstance(one, dict):
        assert one.keys() == other.keys(), path
        for key in one:
            same(one[key], other[key], f"{path}.{key}")
    elif isinstance(one, list):
        assert len(one) == len(other), path
        for i, (a, b) in enumerate(zip(one, other)):
            same(a, b, f"{path}[{i}]")
    else:
        assert one == other, path


def surface(bumps: dict[int, float]):
    """Contango with a smile, plus a per-expiry bump so interpolation choices show in the figures."""

    def vols(dte: int, strikes: np.ndarray) -> np.ndarray:
        moneyness = np.log(strikes / 100.0)
        return 0.25 + 0.1 * math.exp(-dte / 40) + bumps.get(dte, 0.0) - 0.2 * moneyness + 0.5 * moneyness**2

    return vols


pairs = st.lists(
    st.tuples(st.integers(3, 120), st.integers(1, 120)).map(lambda p: (p[0], p[0] + p[1])),
    min_size=1,
    max_size=3,
    unique=True,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dtes=st.sets(st.integers(1, 220), min_size=1, max_size=24),
    pairs=pairs,
    front_tolerance=st.integers(0, 12),
    back_tolerance=st.integers(0, 15),
    max_gap=st.integers(0, 45),
    prefer_monthly=st.booleans(),
    earnings=st.lists(st.integers(1, 220), max_size=2),
    bumps=st.dictionaries(st.integers(1, 220), st.floats(0.0, 0.4), max_size=6),
    vendor_iv=st.booleans(),
)
def test_scanning_only_the_needed_expiries_gives_the_full_chains_signals(
    dtes, pairs, front_tolerance, back_tolerance, max_gap, prefer_monthly, earnings, bumps, vendor_iv
):
    # given a chain over arbitrary listed expiries and an arbitrary pair configuration
    config = EngineConfig(
        pairs=tuple(pairs),
        front_tolerance_days=front_tolerance,
        back_tolerance_days=back_tolerance,
        constant_maturity_max_gap_days=max_gap,
        prefer_monthly=prefer_monthly,
    )
    chain = build_chain(sorted(dtes), STRIKES, surface(bumps), vendor_iv=vendor_iv)
    events = [EarningsInput(TODAY + timedelta(days=d)) for d in earnings]
    listed = [TODAY + timedelta(days=d) for d in dtes]
    # when the chain is cut down to the expiries the fetcher would bring
    needed = needed_expiries(listed, AS_OF, config, [e.date for e in events])
    full = scan_chain(chain, config, earnings=events)
    cut = scan_chain(only_expiries(chain, needed), config, earnings=events)
    # then every signal is the same, field by field
    same(full.signals, cut.signals)


def test_a_weekly_listing_needs_three_expiries_and_keeps_its_signals():
    # given weeklies out to 26 weeks with a front-month bump
    dtes = list(range(7, 183, 7))
    chain = build_chain(dtes, STRIKES, surface({28: 0.05, 35: 0.03}), vendor_iv=True)
    listed = [TODAY + timedelta(days=d) for d in dtes]
    # when
    needed = needed_expiries(listed, AS_OF, EngineConfig())
    full, cut = scan_chain(chain), scan_chain(only_expiries(chain, needed))
    # then the three pair expiries serve every pair and the constant-maturity figures
    assert [(d - TODAY).days for d in needed] == [28, 63, 91]
    assert len(full.signals) == 6 and all(s["ff_constant_maturity"] is not None for s in full.signals)
    same(full.signals, cut.signals)


def _assert_cut_scan_matches(dtes: list[int], config: EngineConfig) -> list[int]:
    chain = build_chain(dtes, STRIKES, surface({}), vendor_iv=True)
    needed = needed_expiries([TODAY + timedelta(days=d) for d in dtes], AS_OF, config)
    same(scan_chain(chain, config).signals, scan_chain(only_expiries(chain, needed), config).signals)
    return [(d - TODAY).days for d in needed]


def test_the_front_of_a_pair_without_a_back_is_kept_when_the_windows_overlap():
    # given monthlies preferred: 30-41 picks the monthly at 46 days as its front and finds no back;
    # without 46, a scan of the rest would pick 30 and complete the pair with 37
    config = EngineConfig(
        pairs=((30, 41), (15, 31)),
        front_tolerance_days=19,
        back_tolerance_days=7,
        prefer_monthly=True,
        constant_maturity_max_gap_days=10,
    )
    # when / then
    assert 46 in _assert_cut_scan_matches([30, 37, 46, 49], config)


def test_the_friday_after_a_needed_third_week_thursday_is_kept():
    # given Thursday 2025-04-17 (45 days) needed and Friday 2025-04-18 listed: the Thursday is not a
    # monthly, but would count as one in a listing without that Friday
    config = EngineConfig(
        pairs=((9, 12), (23, 42), (34, 52)),
        front_tolerance_days=20,
        back_tolerance_days=3,
        prefer_monthly=True,
        constant_maturity_max_gap_days=3,
    )
    # when / then
    assert 46 in _assert_cut_scan_matches([35, 40, 45, 46, 56], config)
