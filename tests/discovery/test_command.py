"""manage.py refresh_universe: output shapes, the progress bar and one-line errors, on the real REST
client against a mocked vendor (the ``vendor`` fixture)."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from discovery.management.commands.refresh_universe import ProgressBar
from discovery.models import UniverseSnapshot
from scanner.models import Ticker


@pytest.mark.django_db
def test_json_names_the_session_used_and_lists_ranked_members(vendor):
    # given a vendor with Friday's bars; when the universe is asked for Sunday as JSON
    out, err = io.StringIO(), io.StringIO()
    call_command("refresh_universe", "--date", "2025-06-08", "--top", "2", "--json", stdout=out, stderr=err)
    # then stdout is exactly the document, for Friday, NOOPT (no options) and PENNY (under $5) left out
    document = json.loads(out.getvalue())
    assert document == {
        "date": "2025-06-06",
        "members": [
            {"rank": 1, "ticker": "SPY", "volume": 60_000_000.0, "dollar_volume": 33_000_000_000.0},
            {"rank": 2, "ticker": "AAPL", "volume": 50_000_000.0, "dollar_volume": 10_000_000_000.0},
        ],
    }
    # and the summary went to stderr, the snapshot to the database
    assert "Universe of 2025-06-06: 2 members" in err.getvalue()
    assert UniverseSnapshot.objects.get().session_date.isoformat() == "2025-06-06"


@pytest.mark.django_db
def test_without_json_a_ranked_table_is_printed(vendor):
    # given the vendor; when refreshed with the default (last completed session: Friday)
    out = io.StringIO()
    call_command("refresh_universe", "--top", "3", stdout=out, stderr=io.StringIO())
    # then a table lists rank, ticker, volume and dollar volume
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["rank", "ticker", "volume", "dollar", "volume"]
    assert lines[1].split() == ["1", "SPY", "60,000,000", "$33.00B"]
    assert lines[3].split() == ["3", "MSFT", "20,000,000", "$8.00B"]


@pytest.mark.django_db
def test_dry_run_prints_the_ranking_and_stores_nothing(vendor):
    # given the vendor and no stored universe
    out, err = io.StringIO(), io.StringIO()
    # when the top 2 are asked for as a dry run
    call_command("refresh_universe", "--top", "2", "--dry-run", stdout=out, stderr=err)
    # then the ranking is printed, the summary says nothing was stored, and nothing was
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines[1:]] == ["SPY", "AAPL"]
    assert err.getvalue().strip() == (
        "Universe of 2025-06-06: 2 members (3 checked for options, 1 without). Dry run: nothing stored."
    )
    assert not UniverseSnapshot.objects.exists()
    assert not Ticker.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2025-13-01"], "--date '2025-13-01': not a date; write it as YYYY-MM-DD"),
        (
            ["--date", "2025-06-10"],
            "--date 2025-06-10: that session has not closed yet; the last completed session is 2025-06-06",
        ),
        (["--top", "ten"], "--top 'ten': give a whole number of tickers"),
        (["--top", "-1"], "--top -1: choose between 1 and 10000 (0: every optionable name above the floors)"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_one_clear_error(vendor, args, message):
    # given the vendor; when the command gets a bad flag value
    with pytest.raises(CommandError) as error:
        call_command("refresh_universe", *args, stdout=io.StringIO(), stderr=io.StringIO())
    # then the error names the flag and what to do
    assert str(error.value).startswith(message)


def test_a_typo_in_the_date_exits_1_with_one_line_and_no_traceback(tmp_path):
    # given a fresh process on embedded defaults; when --date has a typo
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "refresh_universe", "--date", "06/06/2025"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "FF_VAR_DIR": str(tmp_path)},
    )
    # then it exits 1 with one line on stderr
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: --date '06/06/2025': not a date; write it as YYYY-MM-DD, e.g. --date 2025-06-06"
    ]


def test_progress_bar_redraws_on_a_terminal_and_is_silent_elsewhere():
    # given one terminal-like and one plain stream
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, plain = Terminal(), io.StringIO()
    bars = [ProgressBar(OutputWrapper(terminal), 4), ProgressBar(OutputWrapper(plain), 4)]
    # when two checks find one member each, then the check ends
    for bar in bars:
        bar.update(1, 1)
        bar.update(2, 2)
        bar.finish()
    # then the terminal shows the bar filling in place and ends the line; the plain stream gets nothing
    assert terminal.getvalue().count("\r") == 2
    assert "[###############...............] 2/4 found, 2 checked\n" in terminal.getvalue()
    assert plain.getvalue() == ""
