"""The market data vendor answering every request with a 5xx for 10 s mid-burst."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]


def test_a_5xx_storm_mid_burst_ends_in_completed_scans(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when every vendor request fails with 502/503/504/500 for 10 s
    result = run_fault("vendor_5xx", outage_s=10)
    # then the scans retried past the storm and completed, and every alert went out once
    assert not result.problems(RECOVERY_WITHIN_S), result.summary() + "\n" + result.worker_log
