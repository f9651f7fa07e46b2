"""The simulated market's Benzinga earnings calendar: the names with a front-month event, dated so that
event's session carries the news, in the vendor's shape; and the fault that refuses it."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from demo.management.commands.marketsim import Command
from marketsim.faults import Faults
from marketsim.session import NEW_YORK, is_session
from tests.marketsim.conftest import SESSION, follow, get

EARNINGS = "/benzinga/v1/earnings"
ROW_FIELDS = {"ticker", "date", "time", "date_status", "fiscal_period", "fiscal_year", "importance", "benzinga_id"}


def event_names(sim) -> dict[str, date]:
    """Every name whose listing carries an event, and the session whose open the event moves."""
    events = {}
    for symbol in sim.market.symbols():
        profile = sim.market.profile(symbol)
        listing = sim.market.listing(symbol) if profile.ff_bump is not None else None
        if listing is not None and np.isfinite(listing.event_epoch):
            events[symbol] = datetime.fromtimestamp(listing.event_epoch, NEW_YORK).date()
    return events


def next_session(day: date) -> date:
    day += timedelta(days=1)
    while not is_session(day):
        day += timedelta(days=1)
    return day


def test_the_calendar_lists_exactly_the_event_names_inside_their_front_window(frozen_sim):
    # given the names the simulated market gave a front-month event
    events = event_names(frozen_sim)
    assert len(events) >= 10

    # when the whole calendar is read, five rows a page
    rows = follow(frozen_sim, EARNINGS, limit=5, sort="date.asc")

    # then one report per event name, in the vendor's shape, in date order
    assert sorted(row["ticker"] for row in rows) == sorted(events)
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    for row in rows:
        assert ROW_FIELDS <= set(row) and row["date_status"] in ("confirmed", "projected")
        reported = date.fromisoformat(row["date"])
        before_open = row["time"] < "09:30:00"
        assert before_open or row["time"] >= "16:00:00"
        # the session that trades on the news is the event's, and lies before the 30-60 front expiry
        moving = reported if before_open else next_session(reported)
        assert moving == events[row["ticker"]]
        listing = frozen_sim.market.listing(row["ticker"])
        front = min(listing.expiries, key=lambda expiry: abs((expiry - SESSION).days - 30))
        assert SESSION <= reported and SESSION < moving < front


def test_tickers_and_dates_filter_the_calendar(frozen_sim):
    # given two event names and one without an event
    events = event_names(frozen_sim)
    first, second = sorted(events)[:2]

    # when asked by ticker, by ticker.any_of and by a date range
    one = get(frozen_sim, EARNINGS, ticker=first).json()["results"]
    both = get(frozen_sim, EARNINGS, **{"ticker.any_of": f"{first},{second},SPY", "limit": 50}).json()["results"]
    day = min(events.values())
    early = follow(frozen_sim, EARNINGS, **{"date.lte": day.isoformat(), "limit": 50})

    # then
    assert [row["ticker"] for row in one] == [first]
    assert sorted(row["ticker"] for row in both) == [first, second]
    assert early and all(date.fromisoformat(row["date"]) <= day for row in early)


def test_a_bad_sort_is_a_400(frozen_sim):
    answer = get(frozen_sim, EARNINGS, sort="importance.asc")
    assert answer.status_code == 400 and "sort must be one of" in answer.json()["error"]


def test_the_earnings_fault_refuses_only_the_calendar(fresh_sim):
    # when the plan lacks the add-on, switched from the Python API and then over HTTP
    fresh_sim.set_faults(earnings_not_authorized=True)
    refused = get(fresh_sim, EARNINGS, ticker="AAPL")
    chain = get(fresh_sim, "/v3/snapshot/options/AAPL", limit=1)
    get(fresh_sim, "/_sim/faults", earnings_not_authorized="false")
    allowed = get(fresh_sim, EARNINGS, ticker="AAPL")

    # then
    assert refused.status_code == 403 and refused.json()["status"] == "NOT_AUTHORIZED"
    assert chain.status_code == 200
    assert allowed.status_code == 200


@pytest.mark.parametrize("field", [f.name for f in fields(Faults)])
def test_every_fault_switch_has_a_command_flag(field):
    # given the command's parser
    parser = Command().create_parser("manage.py", "marketsim")
    flag = "--" + field.replace("_", "-")
    kind = type(getattr(Faults(), field))
    # when the switch is given on the command line
    options = parser.parse_args([flag] if kind is bool else [flag, "1"])
    # then it reaches the option the command hands to the server
    assert getattr(options, field) == (True if kind is bool else 1)
