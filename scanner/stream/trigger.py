"""The move trigger: scan a ticker when its price has moved far enough from its last scan's.

Two levels per ticker (scanner.stream.rule): the **move** (the default threshold, or the ticker's own
``move_threshold``) and the **scan level** (≥ the move, larger for volatile, costly tickers). A price
that sits the move away from the reference *arms* the ticker; an armed ticker triggers as soon as a
price reaches its scan level, or ``max_wait`` after it was armed (:meth:`MoveTrigger.due`), whichever
comes first, and never sooner than ``min_interval`` after its last trigger (a move inside the
interval is deferred to its end, not dropped). With the scan level equal to the move this is the
plain rule: trigger on the move itself.

Pure and synchronous (no I/O, no clock: time comes with each event), because it is the hot path of
the stream consumer. Each watched ticker with a reference keeps a precomputed band slightly inside its
current level (the move while unarmed, the scan level while armed); a price strictly inside the band
needs nothing, so most events cost one dict lookup and one chained comparison. Everything else takes
the exact (slow) path, so the outcome is exactly the division formula's, event by event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from scanner.stream.rule import Profile, TriggerRule

# The fast band is this much (relative) narrower than the level, far above float rounding, so an
# event inside it is certainly below the level and the exact check is only needed outside.
_BAND_MARGIN = 1e-9
_NEVER = float("inf")


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
    ignored: int = 0  # malformed records, other event kinds, statuses
    unwatched: int = 0  # well-keyed events of names outside the watch set (a wildcard feed's bulk)
    waited: int = 0  # triggers at the end of the wait (the move never reached the scan level)


@dataclass
class _Armed:
    at_ms: int  # when a price first sat the move away from the reference
    price: float  # that price
    due_ms: float  # when it triggers without reaching the scan level


@dataclass
class MoveTrigger:
    """Decides, event by event, which price moves call for a rescan.

    A watched ticker without a reference takes its first price as the reference (no trigger): the
    heartbeat covers tickers that were never scanned. Without a ``rule`` every ticker scans on its
    move itself (the scan level is the move).
    """

    default_threshold: float = 0.005
    min_interval_ms: int = 60_000
    rule: TriggerRule | None = None
    counts: TriggerCounts = field(default_factory=TriggerCounts)

    def __post_init__(self) -> None:
        if not 0 < self.default_threshold < 1:
            raise ValueError(f"threshold {self.default_threshold} is not a fraction between 0 and 1")
        self._max_wait_ms = int(self.rule.max_wait_s * 1000) if self.rule is not None else 0
        self._watched: set[str] = set()
        self._thresholds: dict[str, float] = {}
        self._profiles: dict[str, Profile] = {}
        self._levels: dict[str, float] = {}
        self._references: dict[str, float] = {}
        self._bands: dict[str, tuple[float, float]] = {}
        self._next_allowed_ms: dict[str, int] = {}
        self._armed: dict[str, _Armed] = {}
        self._next_due_ms = _NEVER
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
        profiles: Mapping[str, Profile] | None = None,
    ) -> None:
        """Add ``symbols`` (thresholds: per-ticker overrides; references: known last-scan prices;
        profiles: what the rule scales the scan level by; a ticker left out keeps its profile)."""
        thresholds = thresholds or {}
        references = references or {}
        profiles = profiles or {}
        for symbol in symbols:
            override = thresholds.get(symbol)
            if override is not None and not 0 < override < 1:
                override = None
            profile = profiles.get(symbol)
            reference = references.get(symbol)
            if (
                reference is None
                and symbol in self._watched
                and self._thresholds.get(symbol) == override
                and (profile is None or self._profiles.get(symbol) == profile)
            ):
                continue  # nothing about it changed: a refresh of thousands of names touches only what did
            self._watched.add(symbol)
            if override is not None:
                self._thresholds[symbol] = float(override)
            else:
                self._thresholds.pop(symbol, None)
            if profile is not None:
                self._profiles[symbol] = profile
            self._levels[symbol] = self._level_of(symbol)
            if reference is not None and _valid_price(reference):
                self._set_reference(symbol, float(reference))
            elif symbol in self._references:
                self._refresh_band(symbol)  # same reference: an armed ticker stays armed

    def unwatch(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self._watched.discard(symbol)
            self._bands.pop(symbol, None)
            self._armed.pop(symbol, None)

    def threshold(self, symbol: str) -> float:
        """The move that arms ``symbol`` (and is scanned within the wait at the latest)."""
        return self._thresholds.get(symbol, self.default_threshold)

    def scan_level(self, symbol: str) -> float:
        """The move that triggers ``symbol`` at once."""
        return self._levels.get(symbol) or self._level_of(symbol)

    def reference(self, symbol: str) -> float | None:
        return self._references.get(symbol)

    def armed_since(self, symbol: str) -> int | None:
        armed = self._armed.get(symbol)
        return armed.at_ms if armed is not None else None

    def follow_scan(self, symbol: str, price: float, profile: Profile | None = None) -> None:
        """A scan of a watched ticker saw ``price`` (and, when given, its volatility and cost): its
        next move is measured from there, with the scan level of the new profile."""
        if symbol not in self._watched:
            return
        if profile is not None:
            self._profiles[symbol] = profile
            self._levels[symbol] = self._level_of(symbol)
        if _valid_price(price):
            self._set_reference(symbol, float(price))
        elif symbol in self._references:
            self._refresh_band(symbol)

    def take_first_references(self) -> dict[str, float]:
        """References taken from a first price since the last call (to persist them)."""
        taken, self._first_seen = self._first_seen, {}
        return taken

    def _level_of(self, symbol: str) -> float:
        move = self.threshold(symbol)
        if self.rule is None or symbol in self._thresholds:
            return move  # an operator's own threshold is taken literally
        return self.rule.level(move, self._profiles.get(symbol))

    def _set_reference(self, symbol: str, price: float) -> None:
        """A new reference disarms the ticker: the move is measured afresh."""
        self._references[symbol] = price
        self._armed.pop(symbol, None)
        self._refresh_band(symbol)

    def _refresh_band(self, symbol: str) -> None:
        """The prices that need no attention: inside the move while unarmed, the scan level while armed."""
        if symbol not in self._watched:
            return
        level = self.scan_level(symbol) if symbol in self._armed else self.threshold(symbol)
        price = self._references[symbol]
        inner = level * (1.0 - _BAND_MARGIN)
        self._bands[symbol] = (price * (1.0 - inner), price * (1.0 + inner))

    # --- the hot path --------------------------------------------------------------------------
    def observe(self, symbol: str, price: float, at_ms: int) -> Move | None:
        """One event, exactly. The reference path of :meth:`observe_records`."""
        self.counts.events += 1
        if symbol not in self._watched:
            self.counts.unwatched += 1
            return None
        if not _valid_price(price):
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
        anything else) are counted as ignored and skipped; they never raise. Events of names outside
        the watch set (the bulk of a wildcard subscription's feed) are counted as unwatched: one dict
        lookup and one set membership each.
        ``accept`` restricts the slow path to these record kinds (``record[kind_key]``).
        """
        moves: list[Move] = []
        band_of = self._bands.get
        watched = self._watched
        quiet = unwatched = 0
        for record in records:
            try:
                symbol = record["sym"]
                band = band_of(symbol)
                if band is not None:
                    if band[0] < record[price_key] < band[1]:
                        quiet += 1
                        continue
                elif symbol not in watched:
                    # A wildcard subscription's names outside the watch set: dropped here, cheaply.
                    unwatched += 1
                    continue
            except (KeyError, TypeError, ValueError):
                pass
            move = self._slow(record, price_key, time_key, accept, kind_key)
            if move is not None:
                moves.append(move)
        counts = self.counts
        counts.events += quiet + unwatched
        counts.unwatched += unwatched
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
        kind = record.get(kind_key)
        if (
            (accept is not None and not (isinstance(kind, str) and kind in accept))  # a list is unhashable
            or not isinstance(symbol, str)
            or not _valid_price(price)
            or not isinstance(at_ms, int)
            or isinstance(at_ms, bool)
        ):
            self.counts.ignored += 1
            return None
        if symbol not in self._watched:
            self.counts.unwatched += 1
            return None
        return self._decide(symbol, float(price), at_ms)

    def _decide(self, symbol: str, price: float, at_ms: int) -> Move | None:
        reference = self._references.get(symbol)
        if reference is None:
            self._set_reference(symbol, price)
            self._first_seen[symbol] = price
            return None
        moved = abs(price - reference) / reference
        armed = self._armed.get(symbol)
        next_allowed = self._next_allowed_ms.get(symbol, at_ms)
        level = self._levels[symbol]  # set by watch() for every watched ticker
        if armed is None:
            if moved < self._thresholds.get(symbol, self.default_threshold):
                return None
            if moved >= level and at_ms >= next_allowed:
                return self._trigger(symbol, price, reference, at_ms)  # the common case: no waiting
            armed = self._arm(symbol, price, at_ms)
            if moved < level:
                self._set_due(armed, max(at_ms + self._max_wait_ms, next_allowed))
                return None
        elif moved < level:
            return None
        if at_ms < next_allowed:
            # Deferred, not dropped: it triggers when the interval ends (see due()).
            self.counts.suppressed += 1
            self._set_due(armed, next_allowed)
            return None
        return self._trigger(symbol, price, reference, at_ms)

    def _arm(self, symbol: str, price: float, at_ms: int) -> _Armed:
        armed = self._armed[symbol] = _Armed(at_ms, price, _NEVER)
        # From now on only the scan level needs the exact path; the wait is due()'s business.
        self._refresh_band(symbol)
        return armed

    def _set_due(self, armed: _Armed, due_ms: float) -> None:
        armed.due_ms = due_ms
        if due_ms < self._next_due_ms:
            self._next_due_ms = due_ms

    def _trigger(self, symbol: str, price: float, reference: float, at_ms: int) -> Move:
        self._next_allowed_ms[symbol] = at_ms + self.min_interval_ms
        self._set_reference(symbol, price)
        self.counts.triggers += 1
        return Move(symbol, price, reference, at_ms)

    def due(self, now_ms: int) -> list[Move]:
        """Armed tickers whose wait (or minimum interval) has ended by market time ``now_ms``. Their
        move carries the price that armed them: the scan's own price replaces it (follow_scan)."""
        if now_ms < self._next_due_ms:
            return []
        moves: list[Move] = []
        next_due = _NEVER
        for symbol, armed in list(self._armed.items()):
            if armed.due_ms <= now_ms:
                moves.append(self._trigger(symbol, armed.price, self._references[symbol], now_ms))
                self.counts.waited += 1
            elif armed.due_ms < next_due:
                next_due = armed.due_ms
        self._next_due_ms = next_due
        return moves


def _valid_price(price: Any) -> bool:
    return isinstance(price, (int, float)) and not isinstance(price, bool) and math.isfinite(price) and price > 0
