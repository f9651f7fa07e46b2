from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.models import Alert, Message
from alerts.outbox import in_quiet_hours
from alerts.service import alert_signals
from testing.factories import AS_OF, saved_signals, signal_dict, user

pytestmark = pytest.mark.django_db


def scan_at(now: datetime, *signals: dict) -> list[Alert]:
    """Route one scan of the given signals at wall time ``now``; the alerts it created, strongest first."""
    saved = saved_signals(*signals, started_at=now)
    planned = alert_signals(signals[0]["ticker"], saved, saved[0].scan_id, now=now)
    return list(
        Alert.objects.filter(message__in=[p.message.pk for p in planned])
        .select_related("message")
        .order_by("-ff_judged", "pk")
    )


def with_earnings(ff: float, ex_earnings: float | None, **kwargs) -> dict:
    """A signal whose pair's window holds an earnings date: ``ff`` raw, ``ex_earnings`` without the move."""
    return signal_dict(
        ff=ff, ff_ex_earnings=ex_earnings, flags=("earnings_in_window",), earnings_dates=("2025-03-20",), **kwargs
    )


def test_cooldown_holds_back_repeats_until_ff_rises_by_the_margin():
    # given a follower with the default 120-minute cooldown and a first alert at FF 0.30
    user("f@x.test", follows=("AAPL",))
    assert len(scan_at(AS_OF, signal_dict(ff=0.30))) == 1
    # when FF rises by less than 0.05 within the cooldown
    # then nothing
    assert scan_at(AS_OF + timedelta(minutes=10), signal_dict(ff=0.34)) == []
    # when it rises by 0.05 over the last alert
    # then the cooldown breaks
    assert [a.ff for a in scan_at(AS_OF + timedelta(minutes=20), signal_dict(ff=0.35))] == [0.35]
    # and the new alert is the reference: 0.38 is not 0.05 above 0.35
    assert scan_at(AS_OF + timedelta(minutes=30), signal_dict(ff=0.38)) == []


def test_the_cooldown_follows_the_ex_earnings_ff_its_user_is_judged_on():
    # given a follower judged on the ex-earnings FF (the default policy), alerted at ex-earnings FF 0.22
    user("f@x.test", follows=("AAPL",))
    (first,) = scan_at(AS_OF, with_earnings(ff=0.30, ex_earnings=0.22))
    assert (first.ff, first.ff_judged, first.ff_bucket) == (0.30, 0.22, 4)
    # when the raw FF rises by 0.10 but the ex-earnings FF stays
    # then the cooldown holds
    assert scan_at(AS_OF + timedelta(minutes=10), with_earnings(ff=0.40, ex_earnings=0.22)) == []
    # when the ex-earnings FF rises by the margin (the raw one unchanged)
    # then it breaks the cooldown, on the ex-earnings level
    (again,) = scan_at(AS_OF + timedelta(minutes=20), with_earnings(ff=0.40, ex_earnings=0.28))
    assert (again.ff, again.ff_judged, again.ff_bucket) == (0.40, 0.28, 5)


def test_a_user_who_ignores_earnings_is_cooled_down_on_the_raw_ff():
    user("f@x.test", follows=("AAPL",), earnings_policy="ignore")
    (first,) = scan_at(AS_OF, with_earnings(ff=0.30, ex_earnings=0.22))
    assert (first.ff_judged, first.ff_bucket) == (0.30, 6)
    (again,) = scan_at(AS_OF + timedelta(minutes=10), with_earnings(ff=0.40, ex_earnings=0.22))
    assert (again.ff_judged, again.ff_bucket) == (0.40, 8)


def test_a_message_lists_its_alerts_strongest_first_by_the_ff_each_user_is_judged_on():
    # given two followers of AAPL, one judged on the ex-earnings FF, one ignoring earnings
    judged = user("ex@x.test", follows=("AAPL",))
    raw = user("raw@x.test", follows=("AAPL",), earnings_policy="ignore")
    # when a scan finds a pair whose FF comes from earnings, and one without earnings in its window
    alerts = scan_at(AS_OF, with_earnings(pair="30-60", ff=0.40, ex_earnings=0.21), signal_dict(pair="30-90", ff=0.30))

    # then each message is ordered by what its user was judged on
    def pairs_of(person) -> list[str]:
        return [a.pair for a in alerts if a.user_id == person.pk]

    assert pairs_of(judged) == ["30-90", "30-60"]
    assert pairs_of(raw) == ["30-60", "30-90"]


def test_seen_in_n_consecutive_scans_judges_the_earlier_scans_as_the_user_does():
    # given two followers wanting a signal in 2 consecutive scans, one judged ex-earnings, one ignoring earnings
    judged = user("ex@x.test", follows=("AAPL",), consecutive_scans=2)
    raw = user("raw@x.test", follows=("AAPL",), consecutive_scans=2, earnings_policy="ignore")
    # when the first scan's FF passes only on its earnings, and the next two pass either way
    assert scan_at(AS_OF, with_earnings(ff=0.30, ex_earnings=0.15)) == []
    second = scan_at(AS_OF + timedelta(minutes=1), with_earnings(ff=0.30, ex_earnings=0.25))
    third = scan_at(AS_OF + timedelta(minutes=2), with_earnings(ff=0.30, ex_earnings=0.25))
    # then the one ignoring earnings saw it twice in a row at the second scan; the other only at the third
    assert [a.user_id for a in second] == [raw.pk]
    assert [a.user_id for a in third] == [judged.pk]


def test_after_the_cooldown_a_new_ff_level_alerts_again():
    user("f@x.test", follows=("AAPL",), cooldown_minutes=60)
    scan_at(AS_OF, signal_dict(ff=0.30))
    # when the cooldown is over and FF sits at another 0.05 level
    again = scan_at(AS_OF + timedelta(minutes=61), signal_dict(ff=0.27))
    # then
    assert [a.ff for a in again] == [0.27]


def test_a_rerun_of_the_same_signal_creates_nothing_even_without_cooldown():
    # given no cooldown at all: only the unique key stands between a re-run and a duplicate
    user("f@x.test", follows=("AAPL",), cooldown_minutes=0)
    first = scan_at(AS_OF, signal_dict(ff=0.30))
    # when the same signal (same expiries, day and FF level) is routed again
    again = scan_at(AS_OF + timedelta(minutes=5), signal_dict(ff=0.31))
    # then
    assert len(first) == 1 and again == []
    assert Alert.objects.count() == 1


def test_seen_in_n_consecutive_scans():
    # given a follower who wants a signal seen in 3 consecutive scans
    user("f@x.test", follows=("AAPL",), consecutive_scans=3)
    # when the signal appears, disappears (FF below threshold), then appears three times
    assert scan_at(AS_OF, signal_dict(ff=0.30)) == []
    assert scan_at(AS_OF + timedelta(minutes=1), signal_dict(ff=0.10)) == []
    assert scan_at(AS_OF + timedelta(minutes=2), signal_dict(ff=0.30)) == []
    assert scan_at(AS_OF + timedelta(minutes=3), signal_dict(ff=0.30)) == []
    # then the third in a row alerts
    assert len(scan_at(AS_OF + timedelta(minutes=4), signal_dict(ff=0.30))) == 1


def test_the_daily_cap_counts_messages_not_alerts():
    # given a cap of 2 a day
    user("f@x.test", follows=("AAPL", "MSFT"), daily_cap=2)
    # when one scan finds three signals
    first = scan_at(
        AS_OF,
        signal_dict(pair="30-60", ff=0.25),
        signal_dict(pair="30-90", ff=0.40),
        signal_dict(pair="60-90", ff=0.30),
    )
    # then all three ride in one message, strongest first, and take one place under the cap
    assert [a.pair for a in first] == ["30-90", "60-90", "30-60"]
    assert len({a.message_id for a in first}) == 1
    # and a scan of another ticker that day takes the second place, after which nothing more goes out
    assert len(scan_at(AS_OF + timedelta(hours=1), signal_dict("MSFT", ff=0.5))) == 1
    assert scan_at(AS_OF + timedelta(hours=3), signal_dict(pair="30-60", ff=0.60)) == []
    assert Message.objects.count() == 2


def test_discovery_daily_cap_counts_messages(settings):
    from testing.factories import universe

    universe(date(2025, 3, 3), "AAPL", "XYZ")
    user("e@x.test", discovery=True, discovery_threshold=0.1, discovery_daily_cap=1)
    alerts = scan_at(AS_OF, signal_dict(pair="30-60", ff=0.5), signal_dict(pair="30-90", ff=0.4))
    assert [(a.pair, a.kind) for a in alerts] == [("30-60", Alert.Kind.DISCOVERY), ("30-90", Alert.Kind.DISCOVERY)]
    assert scan_at(AS_OF + timedelta(minutes=5), signal_dict("XYZ", ff=0.6)) == []


def test_quiet_hours_hold_alerts_until_they_end_in_the_users_time_zone():
    # given quiet hours 22:00-07:00 in Tokyo; AS_OF (16:00 UTC) is 01:00 in Tokyo
    user("f@x.test", follows=("AAPL",), timezone="Asia/Tokyo", quiet_hours_start=time(22), quiet_hours_end=time(7))
    # when
    (alert,) = scan_at(AS_OF, signal_dict(ff=0.30))
    # then it waits until 07:00 Tokyo = 22:00 UTC
    assert alert.message.status == Message.Status.HELD
    assert alert.message.send_after == datetime(2025, 3, 4, 22, 0, tzinfo=UTC)


def test_daily_digest_mode_holds_alerts_until_the_digest_time(settings):
    settings.ALERT_DIGEST_TIME = time(17, 30)
    user("f@x.test", follows=("AAPL",), delivery="daily_digest", timezone="America/New_York")
    (alert,) = scan_at(AS_OF, signal_dict(ff=0.30))
    # 17:30 New York on 2025-03-04 (EST, UTC-5)
    assert alert.message.status == Message.Status.HELD
    assert alert.message.send_after == datetime(2025, 3, 4, 22, 30, tzinfo=UTC)


times = st.times().map(lambda t: t.replace(microsecond=0, tzinfo=None))


@given(at=times, start=times, end=times)
def test_quiet_hours_cover_the_span_from_start_to_end_across_midnight(at, start, end):
    # given any time and span; when / then: inside iff within the (possibly wrapping) half-open span
    def seconds(t: time) -> int:
        return t.hour * 3600 + t.minute * 60 + t.second

    span = (seconds(end) - seconds(start)) % 86400
    expected = start != end and (seconds(at) - seconds(start)) % 86400 < span
    assert in_quiet_hours(at, start, end) == expected
