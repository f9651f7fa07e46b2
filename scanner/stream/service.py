"""Running the stream consumer: leader election, health heartbeat, the Django/Celery glue.

``run_stream`` is the one entry point (``manage.py stream`` and the demo call it). It waits as a
standby until it holds the Redis leader lock, streams while it keeps it, and returns the totals.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import redis
from django.conf import settings
from django.db import close_old_connections, connection

from forwardfactor.shared_state import shared_redis
from scanner.polygon import wire
from scanner.stream.consumer import (
    Dispatch,
    LoadWatchNames,
    LoadWatchSet,
    SessionOpen,
    StreamConfig,
    StreamConsumer,
)
from scanner.stream.health import write_health
from scanner.stream.leader import LeaderLock
from scanner.stream.metrics import StreamStats
from scanner.stream.rule import TriggerRule
from scanner.stream.trigger import Move
from scanner.stream.watchset import WatchSet, load_watch_set

log = logging.getLogger("scanner.stream")

HEALTH_INTERVAL_S = 5.0
STANDBY_POLL_S = 1.0
SCAN_TICKER_TASK = "scanner.tasks.scan_ticker"


@dataclass
class StreamResult:
    """What ``run_stream`` returns: the consumer's totals and how the run went."""

    stats: StreamStats
    was_leader: bool
    seconds: float


def config_from_settings(**overrides) -> StreamConfig:
    """The consumer's configuration: the market provider's URL and key, the STREAM_* settings."""
    from forwardfactor.runtime import market_provider

    provider = market_provider()
    config = StreamConfig(
        ws_url=provider.ws_url,
        api_key=provider.api_key,
        channel=wire.channel(settings.STREAM_CHANNEL),
        move_threshold=settings.STREAM_MOVE_THRESHOLD,
        min_interval_s=settings.STREAM_MIN_INTERVAL_S,
        rule=trigger_rule_from_settings(),
        stall_s=settings.STREAM_STALL_S,
        reconcile_s=settings.STREAM_RECONCILE_S,
        metrics_interval_s=settings.STREAM_METRICS_INTERVAL_S,
        wildcard_above=settings.STREAM_WILDCARD_ABOVE if settings.STREAM_WILDCARD_ABOVE >= 0 else None,
    )
    return replace(config, **overrides)


def trigger_rule_from_settings() -> TriggerRule | None:
    """The STREAM_* trigger rule; None (every ticker scans on the move itself) when the wait is 0."""
    if settings.STREAM_MAX_WAIT_S <= 0:
        return None
    return TriggerRule(
        max_wait_s=settings.STREAM_MAX_WAIT_S,
        reference_vol=settings.STREAM_REFERENCE_VOL,
        reference_cost=settings.STREAM_REFERENCE_COST,
    )


def database_watch_set() -> WatchSet:
    return _off_loop_read(load_watch_set)


def database_watch_names(names: frozenset[str]) -> WatchSet:
    return _off_loop_read(load_watch_set, only=names)


def _off_loop_read(read: Callable[..., WatchSet], **kwargs) -> WatchSet:
    """A read on the consumer's I/O thread. Its connection is closed afterwards: reads come seconds
    apart at most, and a connection parked on a thread that ends with the consumer would outlive it."""
    close_old_connections()
    try:
        return read(**kwargs)
    finally:
        connection.close()


@functools.cache
def scan_ticker_task():
    """The registered ``scan_ticker`` task, looked up by name: scanner.tasks imports the stream's watch
    set, so importing it here would close a cycle. The app's task modules are imported first, as a
    worker does at start, so the lookup works in any process (the stream command, the demo)."""
    from celery import current_app

    current_app.loader.import_default_modules()
    return current_app.tasks[SCAN_TICKER_TASK]


def enqueue_move_scans(moves: list[Move]) -> int:
    """One ``scan_ticker(ticker, "move")`` per move, over one broker connection (runs in a thread)."""
    from celery import current_app

    scan_ticker = scan_ticker_task()
    close_old_connections()
    try:
        with current_app.producer_or_acquire() as producer:
            for move in moves:
                # Nobody waits on a move scan's result: no result subscription per move.
                scan_ticker.apply_async(args=[move.symbol, "move"], producer=producer, ignore_result=True)
    finally:
        close_old_connections()
    return len(moves)


def market_session_open() -> bool:
    from market.clock import is_session_open, market_now

    return is_session_open(market_now())


def market_now_ms() -> float:
    from market.clock import market_now

    return market_now().timestamp() * 1000


def run_stream(
    duration_s: float | None = None,
    *,
    config: StreamConfig | None = None,
    stop: threading.Event | None = None,
    redis_client: redis.Redis | None = None,
    load_watch_set: LoadWatchSet = database_watch_set,
    load_watch_names: LoadWatchNames | None = None,
    dispatch: Dispatch = enqueue_move_scans,
    session_open: SessionOpen = market_session_open,
    leader_ttl_s: float | None = None,
    market_clock_ms: Callable[[], float] | None = market_now_ms,
    on_consumer: Callable[[StreamConsumer], None] | None = None,
) -> StreamResult:
    """Run the consumer until ``duration_s`` passes or ``stop`` is set (blocking; its own event loop).

    Raises :class:`scanner.stream.consumer.AuthFailed` when the vendor refuses the key.
    ``load_watch_names`` reads the watch set's changed names alone; by default the database's goes with
    the database's watch set, and another ``load_watch_set`` is reloaded whole on every change.
    """
    if load_watch_names is None and load_watch_set is database_watch_set:
        load_watch_names = database_watch_names
    started = time.monotonic()
    runner = _Runner(
        config or config_from_settings(),
        redis_client or shared_redis(),
        load_watch_set=load_watch_set,
        load_watch_names=load_watch_names,
        dispatch=dispatch,
        session_open=session_open,
        leader_ttl_s=leader_ttl_s if leader_ttl_s is not None else settings.STREAM_LEADER_TTL_S,
        market_clock_ms=market_clock_ms,
        on_consumer=on_consumer,
    )
    stats = asyncio.run(runner.main(duration_s, stop))
    return StreamResult(stats, runner.was_leader, time.monotonic() - started)


class _Runner:
    def __init__(
        self,
        config: StreamConfig,
        client: redis.Redis,
        *,
        load_watch_set: LoadWatchSet,
        load_watch_names: LoadWatchNames | None,
        dispatch: Dispatch,
        session_open: SessionOpen,
        leader_ttl_s: float,
        market_clock_ms: Callable[[], float] | None,
        on_consumer: Callable[[StreamConsumer], None] | None,
    ) -> None:
        self.config = config
        self.client = client
        self.load_watch_set = load_watch_set
        self.load_watch_names = load_watch_names
        self.dispatch = dispatch
        self.session_open = session_open
        self.leader_ttl_s = leader_ttl_s
        self.market_clock_ms = market_clock_ms
        self.on_consumer = on_consumer
        self.lock = LeaderLock(client, leader_ttl_s, identity=f"{socket.gethostname()}:{os.getpid()}")
        self.consumer: StreamConsumer | None = None
        self.was_leader = False
        self.role = "standby"

    async def main(self, duration_s: float | None, stop_flag: threading.Event | None) -> StreamStats:
        stop = asyncio.Event()
        watchers = [asyncio.create_task(self._health_loop(stop))]
        if duration_s is not None:
            watchers.append(asyncio.create_task(self._stop_after(stop, duration_s)))
        if stop_flag is not None:
            watchers.append(asyncio.create_task(self._follow(stop, stop_flag)))
        try:
            while not stop.is_set():
                if not await self._become_leader(stop):
                    break
                await self._lead(stop)
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            if self.was_leader:
                await asyncio.to_thread(self.lock.release)
            try:
                await asyncio.to_thread(self._write_health, self._report("stopped"))
            except redis.RedisError:
                pass
        return self.consumer.snapshot() if self.consumer else StreamStats()

    async def _become_leader(self, stop: asyncio.Event) -> bool:
        waiting_logged = False
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.lock.try_acquire):
                    log.info("stream leader lock acquired")
                    return True
            except redis.RedisError as exc:
                log.warning("leader lock: Redis unavailable (%s)", exc)
            if not waiting_logged:
                log.info("another stream consumer leads (%s): waiting as standby", await self._holder())
                waiting_logged = True
            self.role = "standby"
            await _wait(stop, STANDBY_POLL_S)
        return False

    async def _holder(self) -> str | None:
        try:
            return await asyncio.to_thread(self.lock.holder)
        except redis.RedisError:
            return None

    async def _lead(self, stop: asyncio.Event) -> None:
        self.was_leader = True
        self.role = "leader"
        consumer_stop = asyncio.Event()
        self.consumer = StreamConsumer(
            self.config,
            redis_client=self.client,
            load_watch_set=self.load_watch_set,
            load_watch_names=self.load_watch_names,
            dispatch=self.dispatch,
            session_open=self.session_open,
            market_now_ms=self.market_clock_ms,
        )
        if self.on_consumer is not None:
            self.on_consumer(self.consumer)
        consumer_task = asyncio.create_task(self.consumer.run(consumer_stop), name="stream-consumer")
        stop_task = asyncio.create_task(stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {consumer_task, stop_task}, timeout=self.leader_ttl_s / 3, return_when=asyncio.FIRST_COMPLETED
                )
                if consumer_task in done:
                    consumer_task.result()  # AuthFailed propagates
                    return
                if stop_task in done:
                    return
                try:
                    still_leader = await asyncio.to_thread(self.lock.keep)
                except redis.RedisError as exc:
                    log.warning("leader lock: Redis unavailable (%s)", exc)
                    still_leader = False
                if not still_leader:
                    log.error("lost the stream leader lock: stopping the stream, back to standby")
                    self.role = "standby"
                    return
        finally:
            consumer_stop.set()
            stop_task.cancel()
            if not consumer_task.done():
                await asyncio.gather(consumer_task, return_exceptions=True)

    async def _stop_after(self, stop: asyncio.Event, duration_s: float) -> None:
        await asyncio.sleep(duration_s)
        stop.set()

    async def _follow(self, stop: asyncio.Event, flag: threading.Event) -> None:
        while not flag.is_set():
            await asyncio.sleep(0.1)
        stop.set()

    async def _health_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            state = self.consumer.state if self.role == "leader" and self.consumer else "standby"
            try:
                await asyncio.to_thread(self._write_health, self._report(state))
            except redis.RedisError as exc:
                log.warning("could not write the stream heartbeat key: %s", exc)
            await _wait(stop, HEALTH_INTERVAL_S)

    def _report(self, state: str) -> dict:
        # Built on the loop thread: the counters are only ever touched there.
        report: dict = {"state": state, "role": self.role, "pid": os.getpid()}
        if self.consumer is not None:
            report["stats"] = self.consumer.snapshot().as_dict()
            if self.consumer.last_rates is not None:
                report["rates"] = vars(self.consumer.last_rates)
        return report

    def _write_health(self, report: dict) -> None:
        write_health(self.client, report, ttl_s=max(settings.STREAM_HEALTH_MAX_AGE_S * 2, 30))


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass
