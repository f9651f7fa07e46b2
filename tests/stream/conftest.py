"""Stream fixtures: the simulated market (its own tape, or a scripted one) and a consumer in a thread."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest

from scanner.polygon import wire
from scanner.stream.consumer import StreamConfig, StreamConsumer
from scanner.stream.service import StreamResult, run_stream
from scanner.stream.trigger import Move
from scanner.stream.watchset import WatchSet
from testing.polling import wait_for

SESSION = date(2026, 11, 30)  # a Monday: the simulated market's session is pinned, not today's


class ScriptedTape:
    """An event source for MarketSimServer that publishes exactly the events a test hands it."""

    def __init__(self) -> None:
        self._events: queue.Queue[list[dict]] = queue.Queue()

    def send(self, *events: dict) -> None:
        self._events.put(list(events))

    async def __call__(self, hub) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                events = await loop.run_in_executor(None, self._events.get, True, 0.2)
            except queue.Empty:
                continue
            await hub.publish(events)


def aggregate(symbol: str, close: float, end_ms: int) -> dict:
    return {
        "ev": "A",
        "sym": symbol,
        "v": 100,
        "o": close,
        "h": close,
        "l": close,
        "c": close,
        "s": end_ms - 1000,
        "e": end_ms,
    }


@pytest.fixture
def scripted_market() -> Iterator[tuple[object, ScriptedTape]]:
    from marketsim.server import MarketSimServer

    tape = ScriptedTape()
    sim = MarketSimServer(seed=7, speed=1.0, session_date=SESSION, event_source=tape).start()
    yield sim, tape
    sim.stop()


@pytest.fixture
def market() -> Iterator[object]:
    from marketsim.server import MarketSimServer

    sim = MarketSimServer(seed=7, speed=1.0, session_date=SESSION).start()
    yield sim
    sim.stop()


def subscribed(sim, channel: str = "A") -> set[str]:
    return set(sim.hub.wanted()[channel])


@dataclass
class RunningStream:
    """``run_stream`` in a thread; ``stop()`` ends it and returns its result."""

    thread: threading.Thread
    stop_flag: threading.Event
    moves: list[Move] = field(default_factory=list)
    consumers: list[StreamConsumer] = field(default_factory=list)
    result: StreamResult | None = None
    error: BaseException | None = None

    @property
    def consumer(self) -> StreamConsumer:
        wait_for(lambda: self.consumers, what="the consumer to start")
        return self.consumers[-1]

    def stop(self) -> StreamResult | None:
        self.stop_flag.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "run_stream did not stop"
        return self.result


@pytest.fixture
def start_stream(redis_client) -> Iterator[Callable[..., RunningStream]]:
    started: list[RunningStream] = []

    def start(ws_url: str, symbols: set[str] | None = None, *, record: bool = True, **kwargs) -> RunningStream:
        running = RunningStream(threading.Thread(daemon=True), threading.Event())

        def dispatch(moves: list[Move]) -> int:
            running.moves.extend(moves)
            return len(moves)

        config = StreamConfig(
            ws_url,
            "test-key",
            wire.channel(kwargs.pop("channel", "A")),
            min_interval_s=kwargs.pop("min_interval_s", 60),
            rule=kwargs.pop("rule", None),
            stall_s=kwargs.pop("stall_s", 30),
            backoff_initial_s=0.1,
            backoff_max_s=1.0,
            metrics_interval_s=60,
            session_poll_s=1,
            wildcard_above=kwargs.pop("wildcard_above", StreamConfig.wildcard_above),
        )
        options = dict(
            config=config,
            stop=running.stop_flag,
            redis_client=redis_client,
            session_open=lambda: True,
            leader_ttl_s=kwargs.pop("leader_ttl_s", 6),
            market_clock_ms=None,
            on_consumer=running.consumers.append,
        )
        if symbols is not None:
            options["load_watch_set"] = lambda: WatchSet(frozenset(symbols))
        if record:
            options["dispatch"] = dispatch
        options.update(kwargs)

        def target() -> None:
            try:
                running.result = run_stream(**options)
            except BaseException as exc:  # handed to the test
                running.error = exc

        running.thread = threading.Thread(target=target, name="test-stream", daemon=True)
        running.thread.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop_flag.set()
        running.thread.join(30)
