"""What the consumer holds on the socket: one channel per watched name, or one wildcard for them all.

The vendor's stocks socket takes ``A.*`` (every ticker) as readily as ``A.AAPL`` (DESIGN.md §4). Per-name
channels keep the feed to the watched names (a 100-name watch set on the wildcard would decode the
whole market's events to use a few percent of them), but each one costs a channel and a status reply on
every connect and a message on every watch-set change. Above ``wildcard_above`` names the consumer holds
one ``<prefix>.*`` instead: the trigger loop drops the other names' events (a dict lookup and a set
membership each), reconnects send one subscribe, and watch-set changes send nothing at all.

The switch back to per-name channels waits until the set has shrunk below ``RELEASE_FRACTION`` of the
threshold, so a watch set hovering around it (a universe refresh that adds and drops a few names) does
not swap thousands of channels back and forth.
"""

from __future__ import annotations

from collections.abc import Set

WILDCARD = "*"
RELEASE_FRACTION = 0.8


class SubscriptionPolicy:
    """Decides the socket's channels for a watch set; remembers the mode across reconnects."""

    def __init__(self, wildcard_above: int | None) -> None:
        if wildcard_above is not None and wildcard_above < 0:
            raise ValueError(f"wildcard_above must be >= 0 or None, not {wildcard_above}")
        self.wildcard_above = wildcard_above
        self.wildcard = False

    @property
    def release_below(self) -> float | None:
        """Below this many names a wildcard gives way to per-name channels again."""
        if self.wildcard_above is None:
            return None
        return self.wildcard_above * RELEASE_FRACTION

    def channels(self, watched: Set[str]) -> set[str]:
        """The symbols to hold for ``watched`` (``{WILDCARD}`` for all of them); updates the mode."""
        size = len(watched)
        if self.wildcard_above is None or not watched:
            self.wildcard = False
        elif self.wildcard:
            self.wildcard = size >= self.release_below
        else:
            self.wildcard = size > self.wildcard_above
        return {WILDCARD} if self.wildcard else set(watched)
