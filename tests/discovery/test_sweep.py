"""The discovery sweep's market-hours gate (the sweep itself runs in the end-to-end tests)."""

from datetime import UTC, date, datetime

import pytest

from discovery.tasks import discovery_sweep
from discovery.universe import refresh_universe
from market.clock import set_clock_source
from tests.discovery.market import InMemoryMarket, bar


@pytest.fixture
def market_time():
    def pin(at: datetime) -> None:
        set_clock_source(lambda: at)

    yield pin
    set_clock_source(None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 6, 9, 13, 0, tzinfo=UTC),  # Monday 09:00 New York, before the open
        datetime(2025, 6, 7, 15, 0, tzinfo=UTC),  # Saturday
        datetime(2025, 7, 4, 15, 0, tzinfo=UTC),  # Independence Day
        datetime(2025, 11, 28, 18, 30, tzinfo=UTC),  # the day after Thanksgiving, after the 13:00 early close
    ],
)
def test_outside_a_session_the_sweep_enqueues_nothing(market_time, at):
    # given a universe in force
    refresh_universe(
        day=date(2025, 6, 6),
        size=2,
        source=InMemoryMarket({date(2025, 6, 6): [bar("AAA", 10.0, 1e6), bar("BBB", 10.0, 1e5)]}, {"AAA", "BBB"}),
    )
    # when the beat fires the sweep outside NYSE hours
    market_time(at)
    summary = discovery_sweep.apply().get()
    # then it does nothing and says why
    assert summary == {"enqueued": 0, "skipped": "market closed"}
