from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import routing
from alerts.models import Alert
from alerts.service import alert_signals
from testing.factories import saved_signals, signal_dict, universe, user

pytestmark = pytest.mark.django_db

SESSION = date(2025, 3, 4)


def recipients_of(signal: dict) -> dict[str, str]:
    saved = saved_signals(signal)
    alert_signals(signal["ticker"], saved, saved[0].scan_id)
    return dict(Alert.objects.values_list("user__email", "kind"))


def test_a_signal_reaches_exactly_the_right_users():
    # given the ticker is in the universe in force and users with their own settings
    universe(date(2025, 3, 3), "AAPL", "MSFT")
    user("follows@x.test", follows=("AAPL",), ff_threshold=0.2)
    user("too-high@x.test", follows=("AAPL",), ff_threshold=0.4)
    user("other-pair@x.test", follows=("AAPL",), pairs=["60-90"])
    user("no-atm@x.test", follows=("AAPL",), atm_call_calendar=False)
    user("strict-oi@x.test", follows=("AAPL",), min_open_interest=1000)
    user("tight-spread@x.test", follows=("AAPL",), max_spread_pct=2.0)
    user("explorer@x.test", discovery=True, discovery_threshold=0.25)
    user("picky-explorer@x.test", discovery=True, discovery_threshold=0.5)
    user("both@x.test", follows=("AAPL",), discovery=True, discovery_threshold=0.1)
    user("follows-msft@x.test", follows=("MSFT",))
    user("inactive@x.test", follows=("AAPL",), active=False)
    # when a 30-60 ATM call calendar on AAPL with FF 0.30 is routed
    got = recipients_of(signal_dict("AAPL", ff=0.30, open_interest=500, spread_pct=3.0))
    # then subscribers by their own thresholds, discovery users by theirs, a follower once as subscriber
    assert got == {
        "follows@x.test": Alert.Kind.SUBSCRIPTION,
        "both@x.test": Alert.Kind.SUBSCRIPTION,
        "explorer@x.test": Alert.Kind.DISCOVERY,
    }


def test_discovery_users_hear_only_of_tickers_in_the_universe_in_force():
    # given TSLA was in an older universe but not in the newest one on or before the signal's session
    universe(date(2025, 2, 28), "TSLA")
    universe(date(2025, 3, 3), "AAPL")
    universe(date(2025, 3, 5), "TSLA")  # after the signal's session: not in force yet
    user("explorer@x.test", discovery=True, discovery_threshold=0.1)
    # when / then
    assert recipients_of(signal_dict("TSLA", ff=0.5)) == {}
    assert routing.in_discovery_universe("AAPL", SESSION)


def test_a_signal_without_ff_reaches_nobody():
    user("follows@x.test", follows=("AAPL",), ff_threshold=0.0)
    assert recipients_of(signal_dict("AAPL", ff=None)) == {}


def test_missing_liquidity_figures_pass_only_zero_floors():
    # given a leg whose open interest the vendor did not give
    signal = signal_dict("AAPL", open_interest=None)
    user("any-oi@x.test", follows=("AAPL",), min_open_interest=0)
    user("needs-oi@x.test", follows=("AAPL",), min_open_interest=1)
    # then
    assert recipients_of(signal) == {"any-oi@x.test": Alert.Kind.SUBSCRIPTION}


def test_users_with_identical_settings_are_evaluated_once(monkeypatch):
    # given 30 followers sharing two distinct settings
    for i in range(30):
        user(f"u{i}@x.test", follows=("AAPL",), ff_threshold=0.2 if i % 2 else 0.25)
    calls = []
    original = routing.Criteria.accepts
    monkeypatch.setattr(routing.Criteria, "accepts", lambda self, s: calls.append(self) or original(self, s))
    # when two signals are routed
    recipients = routing.candidate_recipients("AAPL", SESSION)
    routed = routing.route_signals([signal_dict(pair="30-60"), signal_dict(pair="30-90")], recipients)
    # then each distinct criteria was evaluated once per signal, and everyone got both
    assert len(calls) == 4
    assert [len(r) for r in routed.values()] == [30, 30]


def _routing_queries(followers: int, explorers: int) -> int:
    for i in range(followers):
        user(
            f"f{followers}-{i}@x.test", follows=("AAPL",), ff_threshold=0.1 + (i % 7) / 100, consecutive_scans=1 + i % 2
        )
    for i in range(explorers):
        user(f"e{followers}-{i}@x.test", discovery=True, discovery_threshold=0.1 + (i % 5) / 100)
    signals = saved_signals(
        signal_dict(pair="30-60"), signal_dict(pair="30-90"), signal_dict(structure="double_calendar")
    )
    with CaptureQueriesContext(connection) as queries:
        alert_signals("AAPL", signals, signals[0].scan_id)
    return len(queries)


@pytest.mark.services
def test_routing_queries_do_not_grow_with_the_number_of_users(postgres):
    # given 5 vs 200 users with varied settings
    universe(date(2025, 3, 3), "AAPL")
    few = _routing_queries(followers=3, explorers=2)
    Alert.objects.all().delete()
    many = _routing_queries(followers=150, explorers=50)
    # then routing and storing the alerts took the same number of queries
    assert Alert.objects.count() > 150
    assert few == many, (few, many)
