"""`manage.py marketsim` as a user runs it: prints the URLs and env lines, serves, stops on SIGTERM."""

from __future__ import annotations

import subprocess

import pytest
import requests
from django.core.management import CommandError, call_command

from tests.marketsim.conftest import ROOT, marketsim_argv, marketsim_command


def test_marketsim_command_serves_until_sigterm():
    # given
    args = ("--port", "0", "--seed", "5", "--date", "2025-03-10", "--speed", "0", "--rate-limit", "1")
    with marketsim_command(*args) as running:
        env = running.env
        # when
        limited = requests.get(f"{env['POLYGON_REST_URL']}/v1/marketstatus/now", params={"apiKey": "k"}, timeout=5)
        status = requests.get(f"{env['POLYGON_REST_URL']}/v1/marketstatus/now", params={"apiKey": "k"}, timeout=5)
        code = running.stop()
    # then
    assert env["POLYGON_WS_URL"].startswith("ws://127.0.0.1:") and env["POLYGON_WS_URL"].endswith("/stocks")
    assert limited.status_code == 429 and status.json()["serverTime"] == "2025-03-10T09:35:00-04:00"
    assert code == 0


def test_bad_input_is_one_clear_line():
    # when
    result = subprocess.run(
        marketsim_argv("--date", "2025-03-08"), capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    # then
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        == "CommandError: --date 2025-03-08 is not an NYSE session (weekend or holiday); try 2025-03-07"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2026-02-30", "--date 2026-02-30 does not exist: February 2026 has 28 days"),
        ("2024-02-30", "--date 2024-02-30 does not exist: February 2024 has 29 days"),
        ("2026-04-31", "--date 2026-04-31 does not exist: April 2026 has 30 days"),
        ("2026-13-01", "--date 2026-13-01 does not exist: there is no month 13"),
        ("06/03/2026", "--date must look like 2025-01-06, not '06/03/2026'"),
    ],
)
def test_a_date_that_does_not_exist_is_named_as_such(raw, message):
    # when the simulator is asked for a day the calendar does not have, or a date in another shape
    with pytest.raises(CommandError) as error:
        call_command("marketsim", "--date", raw)
    # then the one line says which
    assert str(error.value) == message
