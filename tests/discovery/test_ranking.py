"""Ranking and options confirmation: pure functions, no services."""

import math

from hypothesis import given
from hypothesis import strategies as st

from discovery.universe import Candidate, rank_candidates, select_optionable
from tests.discovery.market import bar


def test_ranks_by_volume_times_vwap_falling_back_to_close():
    # given one bar with a VWAP and one without
    bars = [bar("AAA", close=10.0, volume=1_000, vwap=12.0), bar("BBB", close=20.0, volume=700)]
    # when ranked
    ranked = rank_candidates(bars, min_price=5.0, excluded=set())
    # then dollar volume uses the VWAP where present and the close otherwise
    assert ranked == [Candidate("BBB", 700.0, 14_000.0), Candidate("AAA", 1_000.0, 12_000.0)]


def test_drops_cheap_excluded_and_non_common_symbols():
    # given a penny stock, an excluded name, a preferred share symbol and a normal one
    bars = [
        bar("PENNY", close=4.99, volume=10**9),
        bar("SKIP", close=50.0, volume=10**8),
        bar("BACpB", close=25.0, volume=10**8),
        bar("KEEP", close=5.0, volume=10),
    ]
    # when ranked with a $5 floor and SKIP excluded
    ranked = rank_candidates(bars, min_price=5.0, excluded={"SKIP"})
    # then only KEEP remains (a price exactly at the floor passes)
    assert [c.ticker for c in ranked] == ["KEEP"]


def test_options_are_checked_in_rank_order_until_enough_are_found():
    # given five candidates of which the second has no listed options
    candidates = [Candidate(t, 1.0, float(100 - i)) for i, t in enumerate(["A", "NOOPT", "C", "D", "E"])]
    asked: list[str] = []

    def has_options(ticker: str) -> bool:
        asked.append(ticker)
        return ticker != "NOOPT"

    progress: list[tuple[int, int]] = []
    # when three members are wanted
    members, checks = select_optionable(candidates, 3, has_options, lambda c, f: progress.append((c, f)))
    # then NOOPT is skipped, ranks are contiguous and nothing past the third member is asked about
    assert [(m.rank, m.ticker) for m in members] == [(1, "A"), (2, "C"), (3, "D")]
    assert asked == ["A", "NOOPT", "C", "D"]
    assert checks == {"A": True, "NOOPT": False, "C": True, "D": True}
    assert progress == [(1, 1), (2, 1), (3, 2), (4, 3)]


prices = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0))
bars_strategy = st.lists(
    st.builds(
        bar,
        ticker=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.p", min_size=1, max_size=8),
        close=prices,
        volume=st.one_of(st.floats(min_value=0, max_value=1e12), st.just(0.0)),
        vwap=prices,
    ),
    max_size=60,
)


@given(bars=bars_strategy, min_price=st.floats(min_value=0.0, max_value=100.0))
def test_ranking_of_any_vendor_rows_is_sorted_finite_and_above_the_floor(bars, min_price):
    # given arbitrary grouped-daily rows (NaN, zero, infinite prices and volumes, odd symbols)
    # when ranked
    ranked = rank_candidates(bars, min_price=min_price, excluded=set())
    # then every candidate has a positive finite dollar volume, a price at the floor or above, in descending order
    assert all(math.isfinite(c.dollar_volume) and c.dollar_volume > 0 for c in ranked)
    assert all(any(b.ticker == c.ticker and b.close >= min_price for b in bars) for c in ranked)
    assert [c.dollar_volume for c in ranked] == sorted((c.dollar_volume for c in ranked), reverse=True)


@given(
    volumes=st.lists(st.floats(min_value=1.0, max_value=1e9), min_size=1, max_size=60),
    floor=st.floats(min_value=0.0, max_value=5e9),
    size=st.integers(0, 80),
    optionable=st.sets(st.integers(0, 59)),
)
def test_the_universe_keeps_the_size_and_the_dollar_volume_floor(volumes, floor, size, optionable):
    # given bars at $10 of the given volumes, some of them optionable
    bars = [bar(f"T{i:02d}", close=10.0, volume=volume) for i, volume in enumerate(volumes)]
    listed = {f"T{i:02d}" for i in optionable}
    # when the universe of `size` names (0: all) above the floor is picked
    candidates = rank_candidates(bars, min_price=5.0, excluded=set(), min_dollar_volume=floor)
    members, _ = select_optionable(candidates, size, listed.__contains__)
    # then every member is optionable and above the floor, at most `size` of them, and no name left
    # out is both optionable and above the floor while room remains
    above = {b.ticker for b in bars if b.dollar_volume >= floor} & listed
    tickers = {m.ticker for m in members}
    assert tickers <= above
    assert all(m.dollar_volume >= floor for m in members)
    assert len(members) == (len(above) if size == 0 else min(size, len(above)))
    assert [m.rank for m in members] == list(range(1, len(members) + 1))
    assert [m.dollar_volume for m in members] == sorted((m.dollar_volume for m in members), reverse=True)
