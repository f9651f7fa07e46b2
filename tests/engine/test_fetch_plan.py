"""The fetch plan covers every strike the engine reads, in no more pages than one query per expiry would."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import fetch_plan
from scanner.engine.config import EngineConfig
from scanner.engine.selection import needed_expiries

AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
TODAY = AS_OF.date()


@st.composite
def listings(draw):
    """Listed expiries 1..400 days out, a strike step and an IV each, and a spot."""
    days = draw(st.lists(st.integers(1, 400), min_size=2, max_size=40, unique=True))
    expiries = sorted(TODAY + timedelta(days=d) for d in days)
    steps = {e: draw(st.sampled_from([0.5, 1.0, 2.5, 5.0, 10.0])) for e in expiries}
    ivs = {e: draw(st.floats(0.05, 2.0)) for e in expiries if draw(st.booleans())}
    spot = draw(st.floats(3.0, 3000.0))
    return expiries, steps, ivs, spot


@settings(max_examples=200, deadline=None)
@given(listings())
def test_every_need_is_covered_and_no_run_costs_more_than_its_expiries_alone(listing):
    expiries, steps, ivs, spot = listing
    config = EngineConfig()
    needed = needed_expiries(expiries, AS_OF, config)
    wanted = fetch_plan.needs(spot, AS_OF, config, expiries, needed, ivs, steps)
    requests = fetch_plan.plan(wanted, expiries, steps, spot)
    # every expiry's call and put ranges lie inside a query that covers it (the same check as a spot move)
    assert fetch_plan.uncovered(wanted, requests) == []
    # the core (no room) is inside the roomy ranges
    core = fetch_plan.needs(spot, AS_OF, config, expiries, needed, ivs, steps, fetch_plan.CORE)
    assert fetch_plan.uncovered(core, requests) == []
    # and the plan is never dearer than one query per needed expiry for both types
    alone = [fetch_plan.plan({e: need}, expiries, steps, spot) for e, need in wanted.items()]
    assert fetch_plan.pages(requests) <= sum(fetch_plan.pages(run) for run in alone)


def test_a_fine_strike_grid_on_a_wild_dear_name_splits_calls_and_puts():
    # given an $880 name at 38% with $1 strikes listing only its 30, 60 and 90-day expiries
    expiries = [TODAY + timedelta(days=d) for d in (30, 60, 90)]
    steps = dict.fromkeys(expiries, 1.0)
    ivs = dict.fromkeys(expiries, 0.38)
    config = EngineConfig()
    wanted = fetch_plan.needs(880.0, AS_OF, config, expiries, expiries, ivs, steps)
    # when
    requests = fetch_plan.plan(wanted, expiries, steps, 880.0)
    # then each query fits one page of 250, and the 35-delta call strike of the 60-day front is covered
    assert all(request.rows <= fetch_plan.PAGE_ROWS for request in requests)
    sixty = next(r for r in requests if expiries[1] in r.covers and r.contract_type == "call")
    years = 60.25 / 365
    call_35 = 880 * math.exp(0.385 * 0.38 * math.sqrt(years) + (0.045 + 0.38**2 / 2) * years)
    assert sixty.low < 880 < call_35 < sixty.high


def test_a_missing_iv_takes_the_nearest_expirys():
    expiries = [date(2025, 4, 4), date(2025, 4, 11), date(2025, 5, 16)]
    config = EngineConfig()
    steps = dict.fromkeys(expiries, 1.0)
    with_gap = fetch_plan.needs(100.0, AS_OF, config, expiries, expiries, {expiries[0]: 0.3}, steps)
    filled = fetch_plan.needs(100.0, AS_OF, config, expiries, expiries, dict.fromkeys(expiries, 0.3), steps)
    assert with_gap == filled
