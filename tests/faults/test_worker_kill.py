"""The worker and its pool killed with SIGKILL mid-burst; a replacement starts at once (a restart policy)."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S, SHORT_TIMEOUTS

pytestmark = [pytest.mark.services, pytest.mark.faults]


def test_the_scans_of_a_killed_worker_are_redelivered_and_completed_once(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when the worker is killed -9 in the middle of its scans and a new one starts
    result = run_fault("worker_kill", outage_s=0)
    # then the dead worker's scans come back after the visibility timeout (plus the restore sweep)
    # and complete once, with every alert sent once
    redelivery_within = int(SHORT_TIMEOUTS["CELERY_VISIBILITY_TIMEOUT"]) + 10
    assert not result.problems(RECOVERY_WITHIN_S, redelivery_within), result.summary() + "\n" + result.worker_log
