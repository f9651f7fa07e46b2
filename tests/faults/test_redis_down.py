"""Redis shut down for 10 s in the middle of a burst (the issue's 30 s, shortened for the suite)."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]


def test_redis_down_for_a_while_mid_burst_loses_no_scan_and_doubles_no_email(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when Redis is down for 10 s
    result = run_fault("redis_down", outage_s=10)
    # then every scan completed, every alert went out once, and the worker was soon consuming again
    assert not result.problems(RECOVERY_WITHIN_S), result.summary() + "\n" + result.worker_log
