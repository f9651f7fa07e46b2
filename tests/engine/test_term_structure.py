"""The scan's term structure, and a scan of a ticker whose expiries fit no pair."""

from datetime import timedelta

import numpy as np
import pytest

from scanner.engine import scan_chain
from scanner.engine.timing import trading_date

from .synthetic import AS_OF, build_chain, term

STRIKES = np.arange(70.0, 131.0, 2.5)
TODAY = trading_date(AS_OF)


def day(dte: int):
    return TODAY + timedelta(days=dte)


def test_every_expiry_the_scan_reads_has_its_atm_iv_at_the_forward():
    # given flat smiles whose level differs by expiry, one expiry beyond a year
    vols = {7: 0.50, 30: 0.42, 60: 0.38, 90: 0.36, 180: 0.33, 400: 0.30}
    chain = build_chain(list(vols), STRIKES, term(vols), vendor_iv=True)
    # when
    points = scan_chain(chain).term_structure
    # then the expiries the pairs read (a fetched chain holds just those) carry their own smile level,
    # from the chain; the probe fills the rest of the year (next test); nothing beyond 365 days
    got = {p["dte"]: (p["atm_iv"], p["source"]) for p in points}
    assert {30, 60, 90} <= set(got) and max(got) <= 365
    assert all(got[dte] == (vols[dte], "chain") for dte in got)
    assert [p["dte"] for p in points] == sorted(got)


def test_the_probe_fills_expiries_the_scan_did_not_fetch_and_the_chain_wins_where_both_exist():
    # given a fetched chain and the probe's near-the-money IVs of the listing
    vols = {30: 0.42, 60: 0.38, 90: 0.36}
    chain = build_chain(list(vols), STRIKES, term(vols), vendor_iv=True)
    probe = {day(30): 0.99, day(150): 0.3456789, day(250): 0.31, day(500): 0.2}
    # when
    points = scan_chain(chain, probe_iv=probe).term_structure
    # then
    assert [(p["dte"], p["atm_iv"], p["source"]) for p in points] == [
        (30, 0.42, "chain"),
        (60, 0.38, "chain"),
        (90, 0.36, "chain"),
        (150, 0.3457, "probe"),
        (250, 0.31, "probe"),
    ]


def test_monthlies_that_fit_no_pair_make_a_no_pair_scan_naming_the_listed_expiries():
    # given a ticker listing only monthlies 18, 46 and 74 days out: nothing within 5 days of 30 or 60
    listed = [day(18), day(46), day(74)]
    empty = build_chain([], STRIKES, term({}))
    # when the fetch needed nothing, so the chain is empty
    result = scan_chain(empty, listed=listed, probe_iv={day(18): 0.4, day(46): 0.38})
    # then the scan says why there is no signal, with the expiries and their DTEs
    assert result.no_pair and not result.signals
    assert result.notes[0] == (
        f"no pair within tolerance: listed expiries {day(18)} (18 DTE), {day(46)} (46 DTE), {day(74)} (74 DTE)"
    )
    assert "30-60: no expiry within 5 days of 30 DTE (listed DTEs: 18, 46, 74)" in result.notes
    assert not any("no usable quotes" in note for note in result.notes)
    assert [p["dte"] for p in result.term_structure] == [18, 46]


def test_a_chain_of_monthlies_that_fit_no_pair_is_a_no_pair_scan_too():
    # given the whole chain of such a ticker (e.g. read from a file)
    vols = {18: 0.4, 46: 0.38, 74: 0.36}
    chain = build_chain(list(vols), STRIKES, term(vols), vendor_iv=True)
    # when
    result = scan_chain(chain)
    # then
    assert result.no_pair and not result.signals
    assert result.notes[0].startswith(f"no pair within tolerance: listed expiries {day(18)} (18 DTE)")


@pytest.mark.parametrize("listed", [[], [day(30), day(60)]], ids=["listing_unknown", "pairs_listed"])
def test_an_empty_chain_of_a_ticker_with_pairs_is_a_lack_of_quotes(listed):
    # given an empty chain, the listing unknown or holding a pair (the vendor sent no quotes for it)
    empty = build_chain([], STRIKES, term({}))
    # when
    result = scan_chain(empty, listed=listed)
    # then
    assert not result.no_pair
    assert result.notes == ["no usable quotes in the chain (empty)"]


def test_a_chain_with_pairs_is_not_no_pair():
    vols = {30: 0.42, 60: 0.38, 90: 0.36}
    chain = build_chain(list(vols), STRIKES, term(vols), vendor_iv=True)
    # when
    result = scan_chain(chain, listed=[day(30), day(60), day(90)])
    # then
    assert not result.no_pair and result.signals
