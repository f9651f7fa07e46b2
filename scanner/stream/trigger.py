"""The move trigger: |price − reference| / reference ≥ threshold, with a per-ticker minimum interval.

Pure and synchronous (no I/O, no clock: time comes with each event), because it is the hot path of
the stream consumer. Each watched ticker with a reference keeps a precomputed band slightly inside its
threshold; a price strictly inside the band cannot trigger, so most events cost one dict lookup and
one chained comparison. Everything else takes the exact (slow) path, so the outcome is exactly the
division formula's, event by event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# The fast band is this much (relative) narrower than the threshold, far above float rounding, so an
# event inside it is certainly below the threshold and the exact check is only needed outside.
_BAND_MARGIN = 1e-9


class Move(NamedTuple):
    """A triggered move: scan ``symbol``; its reference moves to ``price``."""

    symbol: str
    price: float
    reference: float
    at_ms: int


@dataclass
class TriggerCounts:
    events: int = 0
    triggers: int = 0
    suppressed: int = 0
    ignored: int = 0


@dataclass
class MoveTrigger:
    """Decides, event by event, which price moves call for a rescan.

    A watched ticker without a reference takes its first price as the reference (no trigger): the
    heartbeat covers tickers that were never scanned.
    """

    default_threshold: float = 0.005
    min_interval_ms: int = 60_000
    counts: TriggerCounts = field(default_factory=TriggerCounts)

    def __post_init__(self) -> None:
        if not 0 < self.default_threshold < 1:
            raise ValueError(f"threshold {self.default_threshold} is not a fraction between 0 and 1")
        self._watched: set[str] = set()
        self._thresholds: dict[str, float] = {}
        self._references: dict[str, float] = {}
        self._bands: dict[str, tuple[float, float]] = {}
        self._next_allowed_ms: dict[str, int] = {}
        self._first_seen: dict[str, float] = {}

    # --- watch set and state -------------------------------------------------------------------
    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    def watch(
        self,
        symbols: Iterable[str],
        thresholds: Mapping[str, float | None] | None = None,
        references: Mapping[str, float] | None = None,
    ) -> None:
        """Add ``symbols`` (thresholds: per-ticker overrides; references: known last-scan prices)."""
        thresholds = thresholds or {}
        references = references or {}
        for symbol in symbols:
            self._watched.add(symbol)
            override = thresholds.get(symbol)
            if override is not None and 0 < override < 1:
                self._thresholds[symbol] = float(override)
            else:
                self._thresholds.pop(symbol, None)
            reference = references.get(symbol, self._references.get(symbol))
            if reference is not None and _valid_price(reference):
                self._set_reference(symbol, float(reference))

    def unwatch(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self._watched.discard(symbol)
            self._bands.pop(symbol, None)

    def threshold(self, symbol: str) -> float:
        return self._thresholds.get(symbol, self.default_threshold)

    def reference(self, symbol: str) -> float | None:
        return self._references.get(symbol)

    def follow_scan(self, symbol: str, price: float) -> None:
        """A scan of a watched ticker saw ``price``: its next move is measured from there."""
        if symbol in self._watched and _valid_price(price):
            self._set_reference(symbol, float(price))

    def take_first_references(self) -> dict[str, float]:
        """References taken from a first price since the last call (to persist them)."""
        taken, self._first_seen = self._first_seen, {}
        return taken

    def _set_reference(self, symbol: str, price: float) -> None:
        self._references[symbol] = price
        if symbol in self._watched:
            inner = self.threshold(symbol) * (1.0 - _BAND_MARGIN)
            self._bands[symbol] = (price * (1.0 - inner), price * (1.0 + inner))

    # --- the hot path --------------------------------------------------------------------------
    def observe(self, symbol: str, price: float, at_ms: int) -> Move | None:
        """One event, exactly. The reference path of :meth:`observe_records`."""
        self.counts.events += 1
        if symbol not in self._watched or not _valid_price(price):
            self.counts.ignored += 1
            return None
        return self._decide(symbol, float(price), at_ms)

    def observe_records(
        self,
        records: list[Any],
        price_key: str,
        time_key: str,
        accept: frozenset[str] | None = None,
        kind_key: str = "ev",
    ) -> list[Move]:
        """Feed a batch of mapping records (``sym``, a price and a time field), in order.

        Records that are not well-formed price events (wrong kind, missing or non-numeric fields,
        unwatched symbols, anything else) are counted as ignored and skipped; they never raise.
        ``accept`` restricts the slow path to these record kinds (``record[kind_key]``).
        """
        moves: list[Move] = []
        band_of = self._bands.get
        quiet = 0
        for record in records:
            try:
                low, high = band_of(record["sym"])
                if low < record[price_key] < high:
                    quiet += 1
                    continue
            except (KeyError, TypeError, ValueError):
                pass
            move = self._slow(record, price_key, time_key, accept, kind_key)
            if move is not None:
                moves.append(move)
        self.counts.events += quiet
        return moves

    def _slow(
        self, record: Any, price_key: str, time_key: str, accept: frozenset[str] | None, kind_key: str
    ) -> Move | None:
        self.counts.events += 1
        if not isinstance(record, dict):
            self.counts.ignored += 1
            return None
        symbol = record.get("sym")
        price = record.get(price_key)
        at_ms = record.get(time_key)
        if (
            (accept is not None and record.get(kind_key) not in accept)
            or not isinstance(symbol, str)
            or symbol not in self._watched
            or not _valid_price(price)
            or not isinstance(at_ms, int)
            or isinstance(at_ms, bool)
        ):
            self.counts.ignored += 1
            return None
        return self._decide(symbol, float(price), at_ms)

    def _decide(self, symbol: str, price: float, at_ms: int) -> Move | None:
        reference = self._references.get(symbol)
        if reference is None:
            self._set_reference(symbol, price)
            self._first_seen[symbol] = price
            return None
        if abs(price - reference) / reference < self.threshold(symbol):
            return None
        if at_ms < self._next_allowed_ms.get(symbol, at_ms):
            self.counts.suppressed += 1
            return None
        self._next_allowed_ms[symbol] = at_ms + self.min_interval_ms
        self._set_reference(symbol, price)
        self.counts.triggers += 1
        return Move(symbol, price, reference, at_ms)


def _valid_price(price: Any) -> bool:
    return isinstance(price, (int, float)) and not isinstance(price, bool) and math.isfinite(price) and price > 0
