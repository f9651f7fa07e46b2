"""A simulated market on 127.0.0.1 (ephemeral port) with a frozen clock, shared by a module."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import requests

from marketsim.server import MarketSimServer

SESSION = date(2025, 3, 10)  # a Monday; 2025-03-08 is a Saturday, 2025-07-04 a holiday
KEY = "test-key"


def get(sim: MarketSimServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.rest_url}{path}", params=params, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)


def follow(sim: MarketSimServer, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a paged endpoint, following next_url."""
    body = get(sim, path, **params).json()
    results = list(body["results"])
    while "next_url" in body:
        body = requests.get(body["next_url"], headers={"Authorization": f"Bearer {KEY}"}, timeout=10).json()
        results.extend(body["results"])
    return results


@pytest.fixture(scope="module")
def frozen_sim():
    with MarketSimServer(seed=7, speed=0, session_date=SESSION) as sim:
        yield sim


@pytest.fixture
def fresh_sim():
    with MarketSimServer(seed=11, speed=0, session_date=SESSION) as sim:
        yield sim
