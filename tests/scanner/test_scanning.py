"""What a scan stores beyond its signals: its outcome when no pair fits, and the term structure."""

from datetime import date

import pytest

from scanner.models import Scan, Ticker
from scanner.scanning import scan_and_alert

pytestmark = pytest.mark.django_db

SESSION = date(2025, 6, 2)  # a Monday, 18 days before June's third Friday
MONTHLIES_ONLY = "UQG"  # seed 7: lists only monthlies (and quarterlies, a LEAP)
HOT = "HOTFF"


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, session_date=SESSION).start()
    server.add_ticker(HOT, price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def test_a_name_whose_expiries_fit_no_pair_records_a_no_pair_scan_with_its_expiries(sim):
    # given a name listing monthlies 18, 46 and 74 days out: nothing within 5 days of 30 or 60
    # when
    report = scan_and_alert(MONTHLIES_ONLY)
    # then the scan completed, says why there is no signal, and did not mistake it for missing quotes
    scan = Scan.objects.get(pk=report.scan_id)
    assert scan.outcome == Scan.Outcome.NO_PAIR == report.outcome
    first_note = scan.notes.splitlines()[0]
    assert first_note.startswith(
        "no pair within tolerance: listed expiries 2025-06-20 (18 DTE), 2025-07-18 (46 DTE), 2025-08-15 (74 DTE)"
    )
    assert "no usable quotes" not in scan.notes
    assert not scan.signals.exists() and scan.requests <= 8
    assert Ticker.objects.get(symbol=MONTHLIES_ONLY).has_options is True
    # and its term structure comes from the expiry probe, up to a year out
    dtes = [point["dte"] for point in scan.term_structure]
    assert dtes[:3] == [18, 46, 74] and max(dtes) <= 365 and max(dtes) > 180
    assert {point["source"] for point in scan.term_structure} == {"probe"}
    assert all(0.05 < point["atm_iv"] < 2 for point in scan.term_structure)


def test_a_scan_stores_the_term_structure_of_the_fetched_expiries_and_the_probe_within_8_requests(sim):
    # when a weekly name is scanned cold (the expiry probe runs)
    report = scan_and_alert(HOT)
    # then
    scan = Scan.objects.get(pk=report.scan_id)
    assert scan.outcome == Scan.Outcome.OK and scan.requests <= 8
    points = scan.term_structure
    assert [p["expiry"] for p in points] == sorted(p["expiry"] for p in points)
    assert all(1 <= p["dte"] <= 365 for p in points) and max(p["dte"] for p in points) > 180
    fetched = {s.front_expiry.isoformat() for s in scan.signals.all()} | {
        s.back_expiry.isoformat() for s in scan.signals.all()
    }
    by_expiry = {p["expiry"]: p for p in points}
    assert fetched and all(by_expiry[expiry]["source"] == "chain" for expiry in fetched)
    assert any(p["source"] == "probe" for p in points)
    # the chain's ATM IV of a pair's front expiry is the IV its signals were computed from
    signal = scan.signals.filter(structure="atm_call_calendar", pair="30-60").get()
    assert by_expiry[signal.data["front_expiry"]]["atm_iv"] == pytest.approx(signal.data["front_iv"], abs=1e-4)
