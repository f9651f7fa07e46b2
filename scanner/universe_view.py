"""What the scanner may ask of the discovery universe without importing it.

Discovery sits above the scanner (DESIGN.md §2) and registers itself here when Django starts; until
then (or without the discovery app) the universe is empty.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol


class UniverseView(Protocol):
    def tickers(self, day: date) -> list[str]:
        """The universe members of the session ``day`` belongs to."""
        ...

    def reference_price(self, ticker: str) -> float | None:
        """The VWAP of the ticker's bar in the latest universe it belongs to, if any."""
        ...


class _EmptyUniverse:
    def tickers(self, day: date) -> list[str]:
        return []

    def reference_price(self, ticker: str) -> float | None:
        return None


_view: UniverseView = _EmptyUniverse()


def register_universe(view: UniverseView) -> None:
    global _view
    _view = view


def universe() -> UniverseView:
    return _view
