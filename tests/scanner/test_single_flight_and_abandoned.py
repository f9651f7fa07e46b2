"""Nothing stays running: a dead owner's scan lock is taken over, a live owner's makes a request
deferred (counted, not a success), and the sweeper re-queues abandoned scans exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scanner.abandoned import requeue_abandoned_scans
from scanner.models import Scan
from scanner.scanning import dropped_scans, lock_key, scan_and_alert, single_flight

pytestmark = [pytest.mark.services, pytest.mark.django_db]

TICKER = "LOCKD"


@pytest.fixture
def redis_state(postgres, redis_client, shared_state_reset):
    return redis_client


def running_scan(task_id: str, silent_for: timedelta, ticker: str = TICKER) -> Scan:
    at = timezone.now() - silent_for
    return Scan.objects.create(
        ticker=ticker, reason=Scan.Reason.MOVE, task_id=task_id, started_at=at, heartbeat_at=at, attempts=1
    )


def test_a_lock_left_by_a_scan_silent_longer_than_a_scan_may_take_is_taken_over(redis_state, settings):
    # given a lock whose owner's scan row has been silent longer than SCAN_STALE_SECONDS
    running_scan("dead-task", timedelta(seconds=settings.SCAN_STALE_SECONDS + 5))
    redis_state.set(lock_key(TICKER), "dead-task", ex=600)
    # when a new request asks for the lock
    with single_flight(TICKER, "new-task") as flight:
        # then it holds it, taken over from the dead owner
        assert flight and flight.took_over_from == "dead-task"
        assert redis_state.get(lock_key(TICKER)) == b"new-task"
    assert redis_state.get(lock_key(TICKER)) is None


def test_a_lock_outliving_its_finished_scan_is_taken_over(redis_state):
    # given a lock whose owner's scan finished (its release was lost)
    scan = running_scan("finished-task", timedelta(seconds=1))
    Scan.objects.filter(pk=scan.pk).update(outcome=Scan.Outcome.OK)
    redis_state.set(lock_key(TICKER), "finished-task", ex=600)
    # when / then
    with single_flight(TICKER, "new-task") as flight:
        assert flight.took_over_from == "finished-task"


def test_a_request_meeting_a_live_scan_is_deferred_to_it_counted_and_not_a_success(redis_state):
    # given a scan of the ticker running now, holding the lock
    live = running_scan("live-task", timedelta(seconds=1))
    redis_state.set(lock_key(TICKER), "live-task", ex=600)
    # when another request for the ticker arrives
    report = scan_and_alert(TICKER, Scan.Reason.MANUAL, owner="late-task").as_dict()
    # then it ran nothing, reports the live scan it deferred to, and is counted
    assert report["outcome"] == "deferred"
    assert (report["scan_id"], report["deferred_to"]) == (live.pk, "live-task")
    assert report["signals"] == 0 and "already running" in report["error"]
    assert dropped_scans() == {TICKER: 1}
    assert list(Scan.objects.values_list("task_id", flat=True)) == ["live-task"]
    assert redis_state.get(lock_key(TICKER)) == b"live-task"


def test_the_lock_is_a_lease_renewed_while_the_scan_runs(redis_state, settings):
    # given a one-second lease
    settings.SCAN_LOCK_SECONDS = 1
    import time

    with single_flight(TICKER, "slow-task"):
        # when the scan outlives three leases, then the owner holds the lock all along (sampled every
        # 50 ms: the property is about elapsed time, nothing to wait for)
        started = time.monotonic()
        while time.monotonic() - started < 3:
            assert redis_state.get(lock_key(TICKER)) == b"slow-task"
            time.sleep(0.05)
    # and it is released at the end
    assert redis_state.get(lock_key(TICKER)) is None


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, ticker: str, reason: str, task_id: str) -> None:
        self.calls.append((ticker, reason, task_id))


def test_the_sweeper_requeues_an_abandoned_scan_exactly_once_and_leaves_live_ones(redis_state, settings):
    # given a scan whose worker died (no lock, silent longer than a lease), a fresh one, and a slow one
    # still renewing its lock
    lease = timedelta(seconds=settings.SCAN_LOCK_SECONDS)
    dead = running_scan("dead-task", lease * 2, ticker="DEAD")
    fresh = running_scan("fresh-task", timedelta(seconds=1), ticker="FRESH")
    slow = running_scan("slow-task", lease * 2, ticker="SLOW")
    redis_state.set(lock_key("SLOW"), "slow-task", ex=60)
    enqueue = Recorder()
    # when the sweeper runs twice
    first = requeue_abandoned_scans(timezone.now(), enqueue)
    second = requeue_abandoned_scans(timezone.now(), enqueue)
    # then the dead scan was scanned again once, under a new task named on its closed row
    assert second == [] and len(first) == 1
    ((ticker, reason, task_id),) = enqueue.calls
    assert (ticker, reason) == ("DEAD", Scan.Reason.MOVE) and task_id not in {"dead-task", ""}
    dead.refresh_from_db()
    assert dead.outcome == Scan.Outcome.FAILED and task_id in dead.error and "abandoned" in dead.error
    # and the live ones were left alone
    assert Scan.objects.get(pk=fresh.pk).outcome == Scan.Outcome.RUNNING
    assert Scan.objects.get(pk=slow.pk).outcome == Scan.Outcome.RUNNING


def test_the_sweeper_requeues_a_scan_silent_longer_than_a_scan_may_take_even_if_its_lock_remains(redis_state, settings):
    # given a running scan silent past SCAN_STALE_SECONDS whose lock is still there (e.g. restored by Redis)
    stuck = running_scan("stuck-task", timedelta(seconds=settings.SCAN_STALE_SECONDS + 1))
    redis_state.set(lock_key(TICKER), "stuck-task", ex=60)
    enqueue = Recorder()
    # when / then
    assert len(requeue_abandoned_scans(timezone.now(), enqueue)) == 1
    stuck.refresh_from_db()
    assert stuck.outcome == Scan.Outcome.FAILED


def test_a_failed_publish_leaves_the_abandoned_scan_for_the_next_sweep(redis_state, settings):
    # given an abandoned scan and a broker that refuses the publish
    dead = running_scan("dead-task", timedelta(seconds=settings.SCAN_LOCK_SECONDS * 2))

    def broker_down(ticker: str, reason: str, task_id: str) -> None:
        raise ConnectionError("broker down")

    # when the sweeper runs
    with pytest.raises(ConnectionError):
        requeue_abandoned_scans(timezone.now(), broker_down)
    # then the row still says running, for the next sweep to find
    dead.refresh_from_db()
    assert dead.outcome == Scan.Outcome.RUNNING
