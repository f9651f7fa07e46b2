"""Snapshot pages straight to a scan: the parser and the engine composed, for callers holding raw pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from scanner.engine.config import EngineConfig
from scanner.engine.scan import ChainScan, EarningsInput, scan_chain
from scanner.polygon.parse import SnapshotError, parse_snapshot_pages


def scan_pages(
    pages: Iterable[dict] | dict,
    as_of: datetime | None = None,
    settings: EngineConfig | None = None,
    earnings: Sequence[EarningsInput] = (),
    ticker: str | None = None,
    underlying_price: float | None = None,
) -> ChainScan:
    """Never raises for bad content: a snapshot that cannot become a chain yields a scan with a note."""
    try:
        chain = parse_snapshot_pages(pages, ticker=ticker, underlying_price=underlying_price, as_of=as_of)
    except SnapshotError as error:
        return ChainScan(ticker or "", as_of, float("nan"), 0, {}, notes=[str(error)])
    return scan_chain(chain, settings or EngineConfig(), as_of, earnings)
