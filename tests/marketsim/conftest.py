"""A simulated market on 127.0.0.1 (ephemeral port) with a frozen clock, shared by a module."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from marketsim.server import MarketSimServer

SESSION = date(2025, 3, 10)  # a Monday; 2025-03-08 is a Saturday, 2025-07-04 a holiday
KEY = "test-key"
ROOT = Path(__file__).resolve().parents[2]


def marketsim_argv(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "marketsim", *args]


@dataclass
class RunningCommand:
    lines: list[str]  # what it printed up to its "Ctrl-C" line
    process: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        """The POLYGON_* lines it prints for the service to use."""
        return dict(line.split("=", 1) for line in self.lines if line.startswith("POLYGON_"))

    def stop(self) -> int:
        """SIGTERM, as an operator's Ctrl-C or a container stop: its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


@contextmanager
def marketsim_command(*args: str) -> Iterator[RunningCommand]:
    """`manage.py marketsim ARGS` in a process of its own, once it says it serves; killed on exit."""
    process = subprocess.Popen(
        marketsim_argv(*args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("Ctrl-C"):
                break
        yield RunningCommand(lines, process)
    finally:
        process.kill()
        process.wait(timeout=20)


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
