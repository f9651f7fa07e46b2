"""The SMTP server refusing connections for 10 s mid-burst, then back on the same port."""

import pytest

from tests.faults.conftest import RECOVERY_WITHIN_S

pytestmark = [pytest.mark.services, pytest.mark.faults]


def test_mail_refused_for_a_while_is_sent_later_exactly_once(run_fault):
    # given a burst of 20 scans for 10 followers, a quarter of it done
    # when the SMTP server is down for 10 s
    result = run_fault("smtp_down", outage_s=10)
    # then every alert still reaches it, once
    assert not result.problems(RECOVERY_WITHIN_S), result.summary() + "\n" + result.worker_log
