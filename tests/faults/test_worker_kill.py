"""The worker and its pool killed with SIGKILL mid-burst; a replacement starts at once (a restart policy)."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]

# The promise for a dead worker: its scans are back in the queue within this.
REDELIVERY_WITHIN_S = 60.0


def test_the_scans_and_messages_of_a_killed_worker_are_taken_up_again_within_a_minute(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done, on the production visibility
    # timeout (10 minutes: the broker itself would give the killed worker's tasks back only then)
    # when the worker is killed -9 in the middle of its scans and sends, and a new one starts
    result = run_fault("worker_kill", outage_s=0)
    # then the scans it held are scanned again by the sweeper (their lock leases lapse) and the messages
    # it held are released (their send leases lapse) and sent: no scan left running, every alert sent
    # once, within a minute and not at the visibility timeout
    assert not result.problems(RECOVERY_WITHIN_S, REDELIVERY_WITHIN_S), result.summary() + "\n" + result.worker_log
