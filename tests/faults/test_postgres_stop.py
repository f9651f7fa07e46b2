"""PostgreSQL stopped fast (sessions cut, transactions rolled back) mid-burst and started 5 s later."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]


def test_a_postgres_restart_mid_burst_leaves_no_scan_running(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when PostgreSQL stops fast and starts again 5 s later
    result = run_fault("postgres_stop", outage_s=5)
    # then no scan is left running or lost, every alert went out once, and the worker consumes again
    assert not result.problems(RECOVERY_WITHIN_S), result.summary() + "\n" + result.worker_log
