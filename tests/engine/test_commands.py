import json
from datetime import date
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scanner.models import EarningsEvent

from .synthetic import AS_OF, build_chain, term, to_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain_file(tmp_path):
    chain = build_chain([30, 60, 90], np.arange(70.0, 131.0, 2.5), term({30: 0.45, 60: 0.35, 90: 0.33}), ticker="ACME")
    path = tmp_path / "acme.json"
    path.write_text(json.dumps(to_pages(chain)))
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_scan_prints_a_table_of_every_pair_and_structure(chain_file):
    # given a saved snapshot of ACME
    # when
    out, _ = run("scan", "acme", "--chain-file", str(chain_file))
    # then
    lines = out.splitlines()
    assert lines[0].startswith("ACME @ 100.00")
    assert "pair" in lines[1] and "FF" in lines[1]
    assert sum(line.startswith(("30-60", "30-90", "60-90")) for line in lines) == 6
    assert "atm_call_calendar" in out and "double_calendar" in out


def test_scan_json_is_an_array_of_signal_dicts(chain_file):
    # given a saved snapshot
    # when
    out, _ = run("scan", "ACME", "--chain-file", str(chain_file), "--json")
    # then
    signals = json.loads(out)
    assert len(signals) == 6 and {s["pair"] for s in signals} == {"30-60", "30-90", "60-90"}
    assert signals[0]["ticker"] == "ACME" and signals[0]["as_of"] == AS_OF.isoformat()


def test_scan_term_structure_prints_the_atm_iv_of_every_expiry(chain_file):
    # given a saved snapshot with 30, 60 and 90 day expiries (IV solved from the mids)
    # when
    out, _ = run("scan", "ACME", "--chain-file", str(chain_file), "--term-structure", "--json")
    table, _ = run("scan", "ACME", "--chain-file", str(chain_file), "--term-structure")
    # then
    points = json.loads(out)
    assert [(p["dte"], p["source"]) for p in points] == [(30, "chain"), (60, "chain"), (90, "chain")]
    assert [p["atm_iv"] for p in points] == pytest.approx([0.45, 0.35, 0.33], abs=1e-3)
    assert table.splitlines()[0] == "ACME term structure (ATM IV per listed expiry)"
    assert table.splitlines()[1].endswith("30d   45.00%  chain")


def test_scan_as_of_moves_the_clock_and_flags_stale_quotes(chain_file):
    # given a scan time an hour after the quotes
    # when
    out, _ = run("scan", "ACME", "--chain-file", str(chain_file), "--json", "--as-of", "2025-03-03T11:00")
    # then (no offset: New York time)
    signals = json.loads(out)
    assert signals[0]["as_of"] == "2025-03-03T11:00:00-05:00"
    assert all("stale_quotes" in s["flags"] for s in signals)


def test_scan_reads_known_earnings_from_the_database(chain_file):
    # given ACME reports in 10 days with a 5% expected move
    EarningsEvent.objects.create(ticker="ACME", date=date(2025, 3, 13), expected_move=0.05)
    # when
    out, _ = run("scan", "ACME", "--chain-file", str(chain_file), "--json")
    # then
    signal = json.loads(out)[0]
    assert "earnings_in_window" in signal["flags"] and signal["ff_ex_earnings"] is not None


@pytest.mark.parametrize(
    "args, message",
    [
        (["ACME", "--chain-file", "/nonexistent/chain.json"], "cannot read /nonexistent/chain.json"),
        (["AC$ME", "--chain-file", "x"], "is not a ticker"),
        (["ACME", "--chain-file", "{chain}", "--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO 8601 time"),
        (["OTHER", "--chain-file", "{chain}"], "the chain is for ACME, not OTHER"),
    ],
)
def test_scan_bad_input_is_one_clear_line(chain_file, args, message):
    # given a bad argument
    args = [a.replace("{chain}", str(chain_file)) for a in args]
    # when / then
    with pytest.raises(CommandError, match=message.replace("$", r"\$")) as caught:
        run("scan", *args)
    assert "\n" not in str(caught.value)


def test_scan_bad_file_contents_are_one_clear_line(tmp_path):
    # given a file that is not JSON and one that is JSON but not a snapshot
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    grouped = tmp_path / "grouped.json"
    grouped.write_text(json.dumps({"status": "OK", "queryCount": 0}))
    # when / then
    with pytest.raises(CommandError, match="is not JSON"):
        run("scan", "ACME", "--chain-file", str(garbage))
    with pytest.raises(CommandError, match="no option contracts"):
        run("scan", "ACME", "--chain-file", str(grouped))


def test_import_earnings_creates_and_updates(tmp_path):
    # given a CSV with a percentage, a fraction and an empty move, and an existing event
    EarningsEvent.objects.create(ticker="AAPL", date=date(2025, 5, 1), expected_move=0.02)
    path = tmp_path / "earnings.csv"
    path.write_text(
        "ticker,date,expected_move,source\naapl,2025-05-01,4.5%,\nMSFT,2025-04-24,0.05,nasdaq\nNVDA,2025-05-28,,\n"
    )
    # when
    out, _ = run("import_earnings", str(path))
    # then
    assert out.strip() == "imported 3 rows: 2 new, 1 updated, 0 already stored as is, 0 repeated in the file"
    events = {e.ticker: e for e in EarningsEvent.objects.all()}
    assert events["AAPL"].expected_move == pytest.approx(0.045) and events["AAPL"].source == "csv"
    assert events["MSFT"].source == "nasdaq" and events["NVDA"].expected_move is None


def test_import_earnings_counts_repeated_and_already_stored_rows_as_such(tmp_path):
    # given AAPL's event stored, and a file that repeats it as is and lists MSFT twice
    EarningsEvent.objects.create(ticker="AAPL", date=date(2025, 5, 1), expected_move=0.045, source="csv")
    path = tmp_path / "earnings.csv"
    path.write_text(
        "ticker,date,expected_move\nAAPL,2025-05-01,4.5%\nMSFT,2025-04-24,5%\nNVDA,2025-05-28,\nmsft,2025-04-24,0.05\n"
    )
    # when
    out, _ = run("import_earnings", str(path))
    # then neither duplicate counts as an update, and each event is stored once
    assert out.strip() == "imported 4 rows: 2 new, 0 updated, 1 already stored as is, 1 repeated in the file"
    assert sorted(EarningsEvent.objects.values_list("ticker", flat=True)) == ["AAPL", "MSFT", "NVDA"]


def test_an_empty_expected_move_keeps_the_stored_one(tmp_path):
    # given AAPL's event stored with a 4.5% move from nasdaq
    EarningsEvent.objects.create(ticker="AAPL", date=date(2025, 5, 1), expected_move=0.045, source="nasdaq")
    path = tmp_path / "earnings.csv"
    # when a file lists the same event with an empty move, first from the same source, then from another
    path.write_text("ticker,date,expected_move,source\nAAPL,2025-05-01,,nasdaq\n")
    first, _ = run("import_earnings", str(path))
    path.write_text("ticker,date,expected_move,source\nAAPL,2025-05-01,,zacks\n")
    second, _ = run("import_earnings", str(path))
    # then the first is nothing new, the second changes the source only: the move stays
    assert "0 updated, 1 already stored as is" in first
    assert "1 updated, 0 already stored as is" in second
    event = EarningsEvent.objects.get()
    assert event.expected_move == pytest.approx(0.045) and event.source == "zacks"


def test_import_earnings_rejects_one_event_listed_twice_with_different_values(tmp_path):
    # given a file whose fourth line gives AAPL's event another move than its second
    path = tmp_path / "earnings.csv"
    path.write_text("ticker,date,expected_move\nAAPL,2025-05-01,4%\nMSFT,2025-04-24,\nAAPL,2025-05-01,5%\n")
    # when / then the error names both lines and nothing is written
    with pytest.raises(CommandError, match=r"earnings.csv:4: AAPL 2025-05-01 is already on line 2 with other values"):
        run("import_earnings", str(path))
    assert not EarningsEvent.objects.exists()


def test_import_earnings_dry_run_counts_the_same_way_and_writes_nothing(tmp_path):
    # given AAPL's event stored and a file that changes it, repeats it, and adds MSFT
    EarningsEvent.objects.create(ticker="AAPL", date=date(2025, 5, 1), expected_move=0.02, source="csv")
    path = tmp_path / "earnings.csv"
    path.write_text("ticker,date,expected_move\nAAPL,2025-05-01,4%\nAAPL,2025-05-01,4%\nMSFT,2025-04-24,\n")
    # when
    out, _ = run("import_earnings", str(path), "--dry-run")
    # then
    assert out.strip() == (
        f"{path}: 3 rows: 1 new, 1 updated, 0 already stored as is, 1 repeated in the file (dry run: nothing written)"
    )
    assert list(EarningsEvent.objects.values_list("ticker", "expected_move")) == [("AAPL", 0.02)]


def test_import_earnings_rejects_the_whole_file_on_a_bad_row(tmp_path):
    # given a file whose third line has a bad date
    path = tmp_path / "earnings.csv"
    path.write_text("ticker,date\nAAPL,2025-05-01\nMSFT,24/04/2025\n")
    # when / then
    with pytest.raises(CommandError, match=r"earnings.csv:3: date '24/04/2025' is not YYYY-MM-DD"):
        run("import_earnings", str(path))
    assert not EarningsEvent.objects.exists()


def test_import_earnings_needs_the_header(tmp_path):
    # given a CSV without a date column
    path = tmp_path / "earnings.csv"
    path.write_text("symbol,when\nAAPL,2025-05-01\n")
    # when / then
    with pytest.raises(CommandError, match="header needs columns ticker, date"):
        run("import_earnings", str(path))
