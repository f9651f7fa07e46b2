"""The reference table of optionable underlyings follows what the service learnt about listed options."""

from __future__ import annotations

import pytest
from django.utils import timezone

from scanner.models import OptionableUnderlying, Ticker
from scanner.underlyings import known_optionable, refresh_optionable_underlyings

pytestmark = pytest.mark.django_db


def test_refresh_adds_listed_tickers_and_drops_those_found_without_options():
    # given tickers known to list options, one found without, one never checked, and a stale entry
    Ticker.objects.bulk_create(
        [
            Ticker(symbol="AAPL", has_options=True),
            Ticker(symbol="MSFT", has_options=True),
            Ticker(symbol="DELIST", has_options=False),
            Ticker(symbol="NEW", has_options=None),
        ]
    )
    OptionableUnderlying.objects.create(symbol="DELIST", refreshed_at=timezone.now())
    # when the table is refreshed
    size = refresh_optionable_underlyings()
    # then it holds exactly the listed ones
    assert size == 2
    assert known_optionable(["AAPL", "MSFT", "DELIST", "NEW", "ZZZ"]) == {"AAPL", "MSFT"}


def test_refresh_twice_changes_nothing_but_the_time():
    Ticker.objects.create(symbol="AAPL", has_options=True)
    refresh_optionable_underlyings()
    first = OptionableUnderlying.objects.get().refreshed_at
    refresh_optionable_underlyings()
    assert OptionableUnderlying.objects.count() == 1
    assert OptionableUnderlying.objects.get().refreshed_at >= first
