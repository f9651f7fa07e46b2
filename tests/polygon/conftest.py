from __future__ import annotations

import fakeredis
import pytest
import responses

from scanner.polygon.client import PolygonClient
from tests.polygon.fake_polygon import BASE_URL

API_KEY = "sk_live_SECRET123KEY"


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> PolygonClient:
    """A client on a fake base URL whose retry pauses are recorded instead of slept."""
    return PolygonClient(BASE_URL, API_KEY, cache=fakeredis.FakeRedis(), sleep=sleeps.append)
