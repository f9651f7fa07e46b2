from datetime import UTC, date, datetime, timedelta

from scanner.engine.config import EngineConfig
from scanner.engine.selection import (
    constant_maturity_brackets,
    expiry_window,
    is_monthly,
    needed_expiries,
    select_pairs,
)

AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
TODAY = date(2025, 3, 3)


def listed(*dtes: int) -> list[date]:
    return [TODAY + timedelta(days=d) for d in dtes]


def dte(day: date | None) -> int | None:
    return None if day is None else (day - TODAY).days


def test_nearest_expiries_within_tolerance_are_picked():
    # given expiries at 24, 27, 34, 52, 68, 95 and 101 days
    expiries = listed(24, 27, 34, 52, 68, 95, 101)
    # when
    picks = {p.label: p for p in select_pairs(expiries, AS_OF, EngineConfig())}
    # then 27 is nearest 30 (34 is 4 away, 27 is 3); 52 and 68 tie for 60 as a back (±10: the earlier
    # wins) but are 8 days off as a front (±5); 95 is nearest 90
    assert (dte(picks["30-60"].front), dte(picks["30-60"].back)) == (27, 52)
    assert (dte(picks["30-90"].front), dte(picks["30-90"].back)) == (27, 95)
    assert picks["60-90"].front is None and "within 5 days of 60 DTE" in picks["60-90"].note


def test_nothing_within_tolerance_gives_a_note():
    # given the nearest expiry to 30 DTE is 6 days off, and none within 10 days of 90
    expiries = listed(24, 36, 60, 75)
    # when
    picks = {p.label: p for p in select_pairs(expiries, AS_OF, EngineConfig())}
    # then
    assert picks["30-60"].front is None and "no expiry within 5 days of 30 DTE" in picks["30-60"].note
    assert picks["60-90"].front == TODAY + timedelta(days=60) and picks["60-90"].back is None
    assert "within 10 days of 90 DTE" in picks["60-90"].note


def test_back_is_always_after_front():
    # given a pair whose tolerances overlap and only one expiry inside both
    config = EngineConfig(pairs=((30, 35),), front_tolerance_days=5, back_tolerance_days=5)
    # when
    pick = select_pairs(listed(32), AS_OF, config)[0]
    # then
    assert pick.front == TODAY + timedelta(days=32) and pick.back is None


def test_monthly_preference_beats_distance_within_tolerance():
    # given a weekly at 31 DTE (Apr 3) and the monthly at 46 DTE (Apr 18, third Friday); tolerance 20
    expiries = [date(2025, 4, 3), date(2025, 4, 18), date(2025, 6, 20)]
    config = EngineConfig(pairs=((30, 100),), front_tolerance_days=20, back_tolerance_days=20, prefer_monthly=True)
    # when
    pick = select_pairs(expiries, AS_OF, config)[0]
    plain = select_pairs(
        expiries, AS_OF, EngineConfig(pairs=((30, 100),), front_tolerance_days=20, back_tolerance_days=20)
    )[0]
    # then
    assert is_monthly(date(2025, 4, 18), frozenset(expiries)) and not is_monthly(date(2025, 4, 3), frozenset(expiries))
    assert pick.front == date(2025, 4, 18)
    assert plain.front == date(2025, 4, 3)


def test_constant_maturity_brackets_come_from_the_pair_expiries_when_they_straddle():
    # given weeklies around 30 and 60 DTE and a far expiry; the pairs pick 28, 63 and 91
    expiries = listed(21, 28, 35, 56, 63, 91, 180)
    # when
    picks = {p.label: p for p in select_pairs(expiries, AS_OF, EngineConfig())}
    needed = needed_expiries(expiries, AS_OF, EngineConfig())
    # then 30 and 60 days both lie between 28 and 63 (within the 35-day gap), 90 between 63 and 91:
    # the pair expiries alone serve the constant-maturity figure, nothing else is fetched
    assert [dte(d) for d in picks["30-60"].front_brackets] == [28, 63]
    assert [dte(d) for d in picks["30-60"].back_brackets] == [28, 63]
    assert [dte(d) for d in picks["60-90"].back_brackets] == [63, 91]
    assert [dte(d) for d in needed] == [28, 63, 91]


def test_a_listed_expiry_is_added_only_for_the_side_the_pair_expiries_miss():
    # given one pair whose expiries (32, 62) both lie after 30 days
    expiries = listed(25, 32, 45, 62, 100)
    config = EngineConfig(pairs=((30, 60),))
    # when
    [pick] = select_pairs(expiries, AS_OF, config)
    # then 30 days takes the nearest listed expiry below (25) with the nearest pair expiry above (32)
    assert [dte(d) for d in pick.front_brackets] == [25, 32]
    assert [dte(d) for d in pick.back_brackets] == [32, 62]
    assert [dte(d) for d in needed_expiries(expiries, AS_OF, config)] == [25, 32, 62]


def test_brackets_stay_within_the_max_gap_and_never_extrapolate():
    # given 60 days with the pair expiry 32 too far below for a 20-day gap
    dtes = {d: dte(d) for d in listed(25, 32, 45, 62)}
    preferred = frozenset(listed(32, 62))
    # when / then the nearer listed 45 steps in below; with nothing listed below 30, no figure at all
    assert [dte(d) for d in constant_maturity_brackets(dtes, 60, 20, preferred)] == [45, 62]
    assert constant_maturity_brackets({d: dte(d) for d in listed(32, 62)}, 30, 35, preferred) == ()


def test_an_exact_hit_is_used_alone():
    # given a listed expiry at exactly 30 days that is not a pair pick
    dtes = {d: dte(d) for d in listed(29, 30, 63)}
    # when
    brackets = constant_maturity_brackets(dtes, 30, 35, frozenset(listed(63)))
    # then
    assert [dte(d) for d in brackets] == [30]


def test_a_pair_without_a_back_needs_no_brackets():
    # given a 30-60 pair with nothing listed near 60 days
    expiries = listed(21, 28, 35, 91)
    config = EngineConfig(pairs=((30, 60),))
    # when
    [pick] = select_pairs(expiries, AS_OF, config)
    # then
    assert pick.back is None and pick.front_brackets == pick.back_brackets == ()
    assert needed_expiries(expiries, AS_OF, config) == []


def test_needed_expiries_include_the_ones_around_an_earnings_date():
    # given earnings 40 days out, between 35 and 56
    expiries = listed(21, 28, 35, 42, 56, 63, 91, 180)
    # when
    needed = needed_expiries(expiries, AS_OF, EngineConfig(), earnings_dates=[TODAY + timedelta(days=40)])
    # then
    assert {35, 42} <= {dte(d) for d in needed}


def test_expiry_window_covers_tolerances_and_brackets():
    # given the default config
    config = EngineConfig()
    # when
    start, end = expiry_window(AS_OF, config)
    # then
    assert start == TODAY + timedelta(days=1)
    assert end == TODAY + timedelta(days=90 + config.constant_maturity_max_gap_days)
