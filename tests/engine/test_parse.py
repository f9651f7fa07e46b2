import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from scanner.polygon.errors import MarketDataError
from scanner.polygon.parse import MissingUnderlyingPriceError, SnapshotError, parse_snapshot_pages

SAMPLE = json.loads(Path("/work/shared/polygon-samples/options-chain-snapshot.json").read_text())


def sample_row() -> dict:
    return copy.deepcopy(SAMPLE["results"][0])


def page(*rows: dict) -> dict:
    return {"status": "OK", "results": list(rows)}


def test_sample_snapshot_parses_to_one_contract():
    # given the vendor's sample page
    # when
    chain = parse_snapshot_pages(SAMPLE)
    # then
    assert chain.ticker == "AAPL" and chain.underlying_price == 159.9606 and len(chain) == 1
    assert chain.expiry[0] == np.datetime64("2023-06-16") and chain.strike[0] == 150.0 and chain.is_call[0]
    assert (chain.bid[0], chain.ask[0]) == (28.9, 29.25)
    assert chain.vendor_iv[0] == pytest.approx(0.3570277203465058)
    assert chain.vendor_delta[0] == pytest.approx(0.6436614934293701)
    assert (chain.open_interest[0], chain.volume[0]) == (8133.0, 8.0)
    # the snapshot's own time: the newest quote/underlying stamp, not the (newer) last trade
    assert chain.as_of == datetime.fromtimestamp(1651254263172073152 / 1e9, tz=UTC)
    assert chain.dropped == {}


def test_optional_fields_missing_leave_nan():
    # given a row with no greeks, IV, open interest or day
    row = sample_row()
    for key in ("greeks", "implied_volatility", "open_interest", "day", "last_trade", "fmv"):
        row.pop(key)
    # when
    chain = parse_snapshot_pages([page(row)])
    # then
    assert len(chain) == 1
    assert np.isnan([chain.vendor_iv[0], chain.vendor_delta[0], chain.open_interest[0], chain.volume[0]]).all()


def test_bad_rows_are_dropped_and_counted_by_reason():
    # given one good row and one of each kind of junk
    good = sample_row()

    def variant(change) -> dict:
        row = sample_row()
        change(row)
        return row

    rows = [
        good,
        copy.deepcopy(good),  # duplicate
        variant(lambda r: r["last_quote"].update(bid=0)),
        variant(lambda r: r["last_quote"].update(bid=-1.0)),
        variant(lambda r: r["last_quote"].update(bid=30.0, ask=29.0)),
        variant(lambda r: r["last_quote"].update(ask=float("nan"))),
        variant(lambda r: r.pop("last_quote")),
        variant(lambda r: r["details"].pop("expiration_date")),
        variant(lambda r: r["details"].update(expiration_date="June 16")),
        variant(lambda r: r["details"].pop("strike_price")),
        variant(lambda r: r["details"].pop("contract_type")),
        variant(lambda r: r["details"].update(expiration_date="2022-04-01")),  # before as_of
        variant(lambda r: r["details"].update(shares_per_contract=150, strike_price=151)),
        variant(lambda r: r.pop("details")),
        "not an object",
    ]
    # when
    chain = parse_snapshot_pages([page(*rows)])
    # then
    assert len(chain) == 1
    assert chain.dropped == {
        "duplicate": 1,
        "nonpositive_quote": 2,
        "crossed_quote": 1,
        "nan_quote": 1,
        "no_quote": 1,
        "missing_expiry": 1,
        "bad_expiry": 1,
        "missing_strike": 1,
        "missing_type": 1,
        "expired": 1,
        "non_standard_deliverable": 1,
        "missing_details": 1,
        "malformed": 1,
    }


def test_missing_underlying_price_uses_the_callers_or_says_so():
    # given a row without underlying_asset
    row = sample_row()
    row.pop("underlying_asset")
    # when / then
    assert parse_snapshot_pages([page(row)], underlying_price=160.0).underlying_price == 160.0
    with pytest.raises(MissingUnderlyingPriceError, match="no underlying_asset.price") as caught:
        parse_snapshot_pages([page(row)])
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, MarketDataError)


def test_no_timestamp_needs_an_explicit_as_of():
    # given a row with no last_updated anywhere
    row = sample_row()
    row["last_quote"].pop("last_updated")
    row["underlying_asset"].pop("last_updated")
    as_of = datetime(2023, 1, 3, 15, tzinfo=UTC)
    # when / then
    with pytest.raises(SnapshotError, match="timestamp"):
        parse_snapshot_pages([page(row)])
    assert parse_snapshot_pages([page(row)], as_of=as_of).as_of == as_of


def test_pages_without_results_and_wrong_shapes():
    # given an empty last page, a non-object page, and a snapshot with no contracts
    # when / then
    assert len(parse_snapshot_pages([page(sample_row()), {"status": "OK"}])) == 1
    with pytest.raises(SnapshotError, match="page 2 is not a JSON object"):
        parse_snapshot_pages([page(sample_row()), ["x"]])
    with pytest.raises(SnapshotError, match="no option contracts"):
        parse_snapshot_pages([{"status": "OK", "resultsCount": 0}])


def test_ticker_comes_from_the_contract_symbol_when_underlying_is_silent():
    # given no underlying ticker
    row = sample_row()
    row["underlying_asset"].pop("ticker")
    # when / then
    assert parse_snapshot_pages([page(row)]).ticker == "AAPL"
