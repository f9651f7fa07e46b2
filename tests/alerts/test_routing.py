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


def rejections_of(signal: dict, email: str) -> list[str]:
    [recipient] = [r for r in routing.candidate_recipients(signal["ticker"], SESSION) if r.email == email]
    return recipient.criteria.rejections(signal)


def test_a_spread_cost_above_a_users_limit_keeps_the_signal_from_them_and_says_so(postgres):
    # given one follower with the default 25 % limit and one who accepts 40 %
    user("default@x.test", follows=("AAPL",))
    user("lenient@x.test", follows=("AAPL",), max_spread_cost_pct=40.0)
    signal = signal_dict("AAPL", ff=0.30, spread_cost_pct=31.0)
    # when / then
    assert recipients_of(signal) == {"lenient@x.test": Alert.Kind.SUBSCRIPTION}
    assert rejections_of(signal, "default@x.test") == ["spread cost 31% > your 25%"]
    assert rejections_of(signal, "lenient@x.test") == []


def test_a_signal_without_a_positive_mid_debit_has_no_spread_cost_and_reaches_nobody(postgres):
    user("lenient@x.test", follows=("AAPL",), max_spread_cost_pct=1000.0)
    signal = signal_dict("AAPL", spread_cost_pct=None)
    assert recipients_of(signal) == {}
    assert rejections_of(signal, "lenient@x.test") == ["spread cost unknown (the mid debit is not positive)"]


def test_stale_quotes_never_alert_whatever_the_users_settings(postgres, settings):
    # given the loosest possible follower, and a signal whose legs were quoted too long ago
    settings.STALE_QUOTE_MINUTES = 15
    user(
        "anything@x.test",
        follows=("AAPL",),
        ff_threshold=0.0,
        min_open_interest=0,
        min_volume=0,
        max_spread_pct=100.0,
        max_spread_cost_pct=1000.0,
        earnings_policy="ignore",
    )
    signal = signal_dict("AAPL", ff=0.9, flags=("stale_quotes",))
    # when / then
    assert recipients_of(signal) == {}
    assert rejections_of(signal, "anything@x.test") == ["stale quotes: a leg was quoted more than 15 minutes before"]


def test_every_reason_a_user_does_not_get_a_signal_is_told(postgres):
    # given a follower whose settings the signal misses on several counts
    user("strict@x.test", follows=("AAPL",), ff_threshold=0.4, min_open_interest=1000, atm_call_calendar=False)
    signal = signal_dict("AAPL", ff=0.30, open_interest=500, spread_cost_pct=30.0)
    # when / then
    assert rejections_of(signal, "strict@x.test") == [
        "atm call calendar is off in your settings",
        "FF 0.30 < your 0.40",
        "front call open interest 500 < your 1000",
        "back call open interest 500 < your 1000",
        "spread cost 30% > your 25%",
    ]


@pytest.mark.parametrize(
    "ff_ex_earnings, routed",
    [
        (0.12, {"ignore@x.test"}),  # earnings made the raw FF: only who ignores earnings hears of it
        (0.28, {"ignore@x.test", "ex-earnings@x.test"}),  # still rich without the event
    ],
    ids=["earnings_made_the_ff", "rich_without_earnings"],
)
def test_the_three_earnings_policies_route_a_pair_with_earnings_in_its_window_differently(
    postgres, ff_ex_earnings: float, routed: set[str]
):
    # given three followers with FF threshold 0.20 and each earnings policy
    for policy in ("ex_earnings", "skip", "ignore"):
        user(f"{policy.replace('_', '-')}@x.test", follows=("AAPL",), earnings_policy=policy)
    signal = signal_dict(
        "AAPL",
        ff=0.45,
        ff_ex_earnings=ff_ex_earnings,
        earnings_dates=("2025-03-20",),
        flags=("earnings_in_window",),
    )
    # when / then
    assert set(recipients_of(signal)) == routed
    assert rejections_of(signal, "skip@x.test") == ["earnings (2025-03-20) inside the window: you skip such pairs"]
    if ff_ex_earnings < 0.2:
        assert rejections_of(signal, "ex-earnings@x.test") == ["ex-earnings FF 0.12 < your 0.20"]


def test_earnings_policies_do_not_matter_without_earnings_in_the_window(postgres):
    for policy in ("ex_earnings", "skip", "ignore"):
        user(f"{policy.replace('_', '-')}@x.test", follows=("AAPL",), earnings_policy=policy)
    # when / then
    assert set(recipients_of(signal_dict("AAPL", ff=0.30))) == {
        "ex-earnings@x.test",
        "skip@x.test",
        "ignore@x.test",
    }


def test_an_unknown_ex_earnings_ff_keeps_the_pair_from_who_judges_it(postgres):
    # given earnings inside the window whose move the engine could not know
    user("ex-earnings@x.test", follows=("AAPL",))
    signal = signal_dict(
        "AAPL", ff=0.45, earnings_dates=("2025-03-20",), flags=("earnings_in_window", "earnings_move_unknown")
    )
    # when / then
    assert recipients_of(signal) == {}
    assert rejections_of(signal, "ex-earnings@x.test") == [
        "earnings (2025-03-20) inside the window and no ex-earnings FF (move unknown)"
    ]


def test_only_verified_addresses_are_alerted():
    # given two followers of AAPL, one of whom never confirmed their address (and a discovery user too)
    universe(date(2025, 3, 3), "AAPL")
    user("confirmed@x.test", follows=("AAPL",), ff_threshold=0.2)
    user("unconfirmed@x.test", follows=("AAPL",), ff_threshold=0.2, verified=False)
    user("unconfirmed-explorer@x.test", discovery=True, discovery_threshold=0.1, verified=False)
    # when a signal above both thresholds is routed
    got = recipients_of(signal_dict("AAPL", ff=0.30, open_interest=500, spread_pct=3.0))
    # then only the confirmed address hears of it (double opt-in)
    assert got == {"confirmed@x.test": Alert.Kind.SUBSCRIPTION}
