"""Redis killed with SIGKILL in the middle of a burst and back 5 s later (its append-only file replayed)."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]


def test_a_redis_crash_mid_burst_loses_no_scan_and_doubles_no_email(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when Redis is killed -9 and restarted on the same data 5 s later
    result = run_fault("redis_kill", outage_s=5)
    # then every scan completed, every alert went out once, and the worker was soon consuming again
    assert not result.problems(RECOVERY_WITHIN_S), result.summary() + "\n" + result.worker_log
