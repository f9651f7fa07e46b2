"""The worker and its pool killed with SIGKILL mid-burst; a replacement starts at once (a restart policy)."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]

# Short for the test; no retry countdown in this scenario outlasts it (a held countdown would come back twice).
VISIBILITY_TIMEOUT_S = 30


def test_the_scans_of_a_killed_worker_are_redelivered_and_completed_once(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when the worker is killed -9 in the middle of its scans and a new one starts
    result = run_fault("worker_kill", outage_s=0, CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT_S))
    # then the tickers it was scanning are scanned to completion within the visibility timeout (plus
    # the restore sweep), no scan row is left running, and every alert went out once
    redelivery_within = VISIBILITY_TIMEOUT_S + 15
    assert not result.problems(RECOVERY_WITHIN_S, redelivery_within), result.summary() + "\n" + result.worker_log
