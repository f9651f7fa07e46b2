"""Fault tests: each scenario starts its own Redis, PostgreSQL, worker and beat (testing/services.py)
and injects one fault into a burst of scans (testing/fault_scenarios.py). Outages are short and the
worker runs with short timeouts, so the whole set adds a few minutes at most."""

from __future__ import annotations

import os
import shutil

import pytest

from testing.fault_scenarios import Scenario, ScenarioResult, migrated_template, run_scenario
from testing.services import missing_binaries, scratch_directory

# Settings the worker and beat run with in these tests: a dead scan's lock and a dead send task's claim
# lapse in 6 s, an SMTP server that does not answer is given up on in 5 s.
SHORT_TIMEOUTS = {
    "SCAN_LOCK_SECONDS": "6",
    "ALERT_SEND_LEASE_SECONDS": "6",
    "ALERT_PENDING_REQUEUE_SECONDS": "10",
    "EMAIL_TIMEOUT": "5",
}
# The promise: the worker consumes again within this after any fault ends.
RECOVERY_WITHIN_S = 15.0


@pytest.fixture(scope="session")
def fault_template():
    """A migrated PostgreSQL cluster, made once; each scenario runs on a copy of it."""
    missing = missing_binaries()
    if missing:
        reason = f"the fault tests need {', '.join(missing)}"
        if os.environ.get("FF_REQUIRE_SERVICES") == "1":
            pytest.fail(f"FF_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    directory = scratch_directory("ff-fault-template-")
    try:
        yield migrated_template(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def run_fault(fault_template):
    """Run one scenario (20 scans, 10 followers each) with the short timeouts; its result."""

    def run(fault: str, outage_s: float, **env: str) -> ScenarioResult:
        return run_scenario(Scenario(fault, outage_s=outage_s, env={**SHORT_TIMEOUTS, **env}), fault_template)

    return run
