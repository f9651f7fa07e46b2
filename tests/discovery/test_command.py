"""manage.py refresh_universe: output shapes, the progress bar and one-line errors, on the real REST
client against a mocked vendor (``responses``)."""

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from scanner.management.commands.refresh_universe import ProgressBar
from scanner.models import UniverseSnapshot

VENDOR = "http://vendor.test"
FRIDAY_ROWS = [
    {"T": "AAPL", "v": 50_000_000, "vw": 200.0, "o": 199, "h": 201, "l": 198, "c": 200.5, "t": 1, "n": 10},
    {"T": "NOOPT", "v": 90_000_000, "vw": 150.0, "o": 150, "h": 151, "l": 149, "c": 150.0, "t": 1, "n": 10},
    {"T": "MSFT", "v": 20_000_000, "vw": 400.0, "o": 399, "h": 401, "l": 398, "c": 400.0, "t": 1, "n": 10},
    {"T": "PENNY", "v": 900_000_000, "vw": 1.0, "o": 1, "h": 1, "l": 1, "c": 1.0, "t": 1, "n": 10},
    {"T": "SPY", "v": 60_000_000, "c": 550.0, "o": 549, "h": 551, "l": 548, "t": 1},
]
OPTIONABLE = {"AAPL", "MSFT", "SPY"}


@pytest.fixture
def vendor(settings, shared_state_reset):
    """The real client (from settings) against a mocked vendor whose market clock says Monday 2025-06-09 10:00 NY."""
    from forwardfactor.shared_state import shared_redis
    from scanner.market_clock import set_clock_source
    from scanner.polygon.provider import reset_market_provider

    settings.POLYGON_API_KEY = "test-key"
    settings.MARKET_SIMULATED = False
    settings.POLYGON_REST_URL = VENDOR
    reset_market_provider()
    shared_redis().flushdb()
    set_clock_source(lambda: datetime(2025, 6, 9, 14, 0, tzinfo=UTC))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for day in ("2025-06-06", "2025-06-05"):
            mock.get(f"{VENDOR}/v2/aggs/grouped/locale/us/market/stocks/{day}",
                     json={"status": "OK", "resultsCount": len(FRIDAY_ROWS), "results": FRIDAY_ROWS})

        def contracts(request):
            ticker = re.search(r"underlying_ticker=([A-Z]+)", request.url).group(1)
            results = [{"ticker": f"O:{ticker}250620C00100000", "underlying_ticker": ticker}] if ticker in OPTIONABLE else []
            return 200, {}, json.dumps({"status": "OK", "results": results})

        mock.add_callback(responses.GET, f"{VENDOR}/v3/reference/options/contracts", callback=contracts)
        yield mock
    set_clock_source(None)
    reset_market_provider()


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2025-13-01"], "--date '2025-13-01': not a date; write it as YYYY-MM-DD"),
        (["--date", "2025-06-10"], "--date 2025-06-10: that session has not closed yet; the last completed session is 2025-06-06"),
        (["--top", "ten"], "--top 'ten': give a whole number of tickers"),
        (["--top", "0"], "--top 0: choose between 1 and 2000"),
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
        cwd=root, capture_output=True, text=True, timeout=60,
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
