"""The stream consumer: one supervised WebSocket connection feeding the move trigger.

Inside one event loop:

* the reader only receives frames and puts them on a queue (it never waits on Redis or Celery);
* the trigger loop decodes frames and runs :class:`MoveTrigger` (pure, in-loop: it is CPU only);
* the dispatcher hands batches of moves to a worker thread that saves references and enqueues scans;
* the watch loop looks again at the names an ``ff:watchset`` message carries (the whole set on a
  message it cannot read, and every few minutes) and
  subscribes/unsubscribes on the live socket: one channel per name for a small watch set, one
  wildcard above ``wildcard_above`` names (scanner.stream.subscriptions), whose other names the
  trigger loop drops;
* the supervisor reconnects with backoff after drops, normal closes and stalls, stops on
  ``auth_failed`` and idles outside market sessions.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from scanner.polygon import wire
from scanner.stream.metrics import Rates, RateWindow, StreamStats
from scanner.stream.references import REFERENCES_CHANNEL, ReferenceStore
from scanner.stream.rule import Profile, TriggerRule
from scanner.stream.subscriptions import WILDCARD, SubscriptionPolicy
from scanner.stream.trigger import Move, MoveTrigger
from scanner.stream.watchset import WATCHSET_CHANNEL, WatchSet, changed_names

log = logging.getLogger("scanner.stream")

Dispatch = Callable[[list[Move]], int]
LoadWatchSet = Callable[[], WatchSet]
# The watch set restricted to some names (those of them still watched), for a change that names them.
LoadWatchNames = Callable[[frozenset[str]], WatchSet]
SessionOpen = Callable[[], bool]


# Above this many changed names a refresh loads the whole watch set instead of the names.
PARTIAL_REFRESH_MAX = 1000


class AuthFailed(Exception):
    """The vendor refused the key: retrying would only hammer it."""


class Reconnect(Exception):
    """The server ended the session in a way that calls for a reconnect with backoff."""


@dataclass(frozen=True)
class StreamConfig:
    ws_url: str
    api_key: str
    channel: wire.Channel
    move_threshold: float = 0.005
    min_interval_s: float = 60.0
    rule: TriggerRule | None = None  # per-ticker scan levels and the longest wait; None: the plain rule
    stall_s: float = 30.0
    reconcile_s: float = 180.0
    metrics_interval_s: float = 60.0
    session_poll_s: float = 15.0
    open_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    stable_after_s: float = 30.0
    queue_frames: int = 10_000
    # Watch sets larger than this hold one ``<prefix>.*`` subscription (None: always one per name).
    wildcard_above: int | None = 1000


class Backoff:
    """Exponential with jitter; reset once a connection has proven stable."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._initial = initial_s
        self._max = max_s
        self._next = initial_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._max, self._next * 2)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._next = self._initial


class WatchSetListener(threading.Thread):
    """Redis pub/sub in a thread (works alike on Redis and the in-process fake): watch-set changes on
    ``ff:watchset`` (handed on as the names they carry; None: look at the whole set), and the price
    each completed scan saw on the references channel."""

    def __init__(
        self,
        client: redis.Redis,
        on_message: Callable[[frozenset[str] | None], None],
        on_scan_reference: Callable[[str, float, int, Profile | None], None] = lambda *_: None,
    ) -> None:
        super().__init__(name="stream-watchset-listener", daemon=True)
        self._client = client
        self._on_message = on_message
        self._on_scan_reference = on_scan_reference
        self._stopping = threading.Event()
        self.subscribed = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(WATCHSET_CHANNEL, REFERENCES_CHANNEL)
                self.subscribed.set()
                # A message may have been missed while (re)subscribing: recompute once now.
                self._on_message(None)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None:
                        continue
                    if message["channel"] == REFERENCES_CHANNEL.encode():
                        self._scan_reference(message["data"])
                    else:
                        self._on_message(changed_names(message["data"]))
            except (redis.RedisError, OSError) as exc:
                log.warning("watch-set listener lost Redis (%s); retrying in 2 s", exc)
                self._stopping.wait(2.0)
            finally:
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass

    def _scan_reference(self, data: bytes) -> None:
        try:
            body = orjson.loads(data)
            symbol, price, at_ms = str(body["symbol"]), float(body["price"]), int(body["at_ms"])
            # The scan's volatility and cost, when it announced them (the trigger rule's inputs).
            vol, cost = body.get("vol"), body.get("requests")
            profile = Profile(float(vol), float(cost) if cost is not None else None) if vol is not None else None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.warning("ignored a malformed scan reference message: %r", data[:200])
            return
        self._on_scan_reference(symbol, price, at_ms, profile)


class StreamConsumer:
    def __init__(
        self,
        config: StreamConfig,
        *,
        redis_client: redis.Redis,
        load_watch_set: LoadWatchSet,
        dispatch: Dispatch,
        session_open: SessionOpen,
        market_now_ms: Callable[[], float] | None = None,
        load_watch_names: LoadWatchNames | None = None,
    ) -> None:
        self.config = config
        self.trigger = MoveTrigger(config.move_threshold, int(config.min_interval_s * 1000), config.rule)
        self.stats = StreamStats()
        self.state = "starting"
        self.last_rates: Rates | None = None
        self._redis = redis_client
        self._references = ReferenceStore(redis_client)
        self._load_watch_set = load_watch_set
        self._load_watch_names = load_watch_names
        self._changed_names: set[str] | None = set()  # named by messages since the last refresh; None: all
        self._dispatch = dispatch
        self._session_open = session_open
        self._market_now_ms = market_now_ms
        # Two threads: one keeps the order of dispatches, the other serves short lookups.
        self._dispatch_executor = ThreadPoolExecutor(1, thread_name_prefix="stream-dispatch")
        self._io_executor = ThreadPoolExecutor(1, thread_name_prefix="stream-io")
        self._ws: ClientConnection | None = None
        self._subscribed: set[str] = set()
        self._policy = SubscriptionPolicy(config.wildcard_above)
        self._last_message = time.monotonic()
        self._newest_event_ms: int | None = None
        self._lag_ms = 0.0
        self._pending_moves: list[Move] = []
        self._pending_references: dict[str, float] = {}
        # Market time of each ticker's latest trigger: an older scan's price must not undo it.
        self._moved_at_ms: dict[str, int] = {}

    # --- lifecycle -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set. Raises :class:`AuthFailed` when the key is refused."""
        loop = asyncio.get_running_loop()
        self._stop = stop
        self._frames: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue(self.config.queue_frames)
        self._dispatch_ready = asyncio.Event()
        self._watch_dirty = asyncio.Event()
        self._subscription_lock = asyncio.Lock()
        listener = WatchSetListener(
            self._redis,
            lambda names: loop.call_soon_threadsafe(self._watch_changed, names),
            lambda *reference: loop.call_soon_threadsafe(self._follow_scan, *reference),
        )
        helpers: list[asyncio.Task] = []
        try:
            await self._refresh_watch_set()
            listener.start()
            helpers = [
                asyncio.create_task(self._trigger_loop(), name="stream-trigger"),
                asyncio.create_task(self._dispatch_loop(), name="stream-dispatch"),
                asyncio.create_task(self._watch_loop(), name="stream-watch"),
                asyncio.create_task(self._metrics_loop(), name="stream-metrics"),
            ]
            await self._supervise()
        finally:
            self.state = "stopped"
            listener.stop()
            if listener.is_alive():
                await asyncio.to_thread(listener.join, 5)
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._drain()
            self._dispatch_executor.shutdown(wait=True)
            self._io_executor.shutdown(wait=False)

    async def _drain(self) -> None:
        """Process frames already read and dispatch every pending move before stopping."""
        while not self._frames.empty():
            self._process(*self._frames.get_nowait())
        await self._flush_dispatch()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass

    async def _in_executor(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._io_executor, fn, *args)

    # --- supervision ---------------------------------------------------------------------------
    async def _supervise(self) -> None:
        backoff = Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)
        while not self._stop.is_set():
            if not await self._in_executor(self._session_open):
                if self.state != "idle":
                    log.info("market session closed (data source's clock): idle")
                self.state = "idle"
                await self._sleep(self.config.session_poll_s)
                continue
            self.state = "connecting"
            started = time.monotonic()
            try:
                await self._connect_once()
            except AuthFailed:
                raise
            except (OSError, TimeoutError, WebSocketException, Reconnect, wire.ProtocolError) as exc:
                log.warning("stream connection ended: %s", exc or type(exc).__name__)
            if self._stop.is_set():
                break
            if time.monotonic() - started >= self.config.stable_after_s:
                backoff.reset()
            self.stats.reconnects += 1
            self.state = "reconnecting"
            delay = backoff.next_delay()
            log.info("reconnecting in %.1f s", delay)
            await self._sleep(delay)

    async def _connect_once(self) -> None:
        config = self.config
        async with connect(
            config.ws_url,
            compression=None,
            max_size=2**24,
            open_timeout=config.open_timeout_s,
            close_timeout=2,
            ping_interval=20,
            ping_timeout=20,
            max_queue=64,
        ) as ws:
            await self._handshake(ws)
            self.stats.connects += 1
            self._last_message = time.monotonic()
            async with self._subscription_lock:
                self._ws = ws
                self._subscribed = set()
                await self._sync_subscriptions()
            self.state = "streaming"
            if self._policy.wildcard:
                log.info(
                    "streaming %s.* (every name; %d watched, the rest dropped here) from %s",
                    config.channel.prefix,
                    len(self.trigger.watched),
                    config.ws_url,
                )
            else:
                log.info(
                    "streaming %s for %d tickers from %s", config.channel.prefix, len(self._subscribed), config.ws_url
                )
            watchdog = asyncio.create_task(self._watchdog(ws), name="stream-watchdog")
            try:
                await self._read(ws)
            except ConnectionClosed as exc:
                if not self._stop.is_set():
                    log.warning("stream closed by the server or network: %s", exc)
            finally:
                self._ws = None
                watchdog.cancel()
                await asyncio.gather(watchdog, return_exceptions=True)

    async def _handshake(self, ws: ClientConnection) -> None:
        timeout = self.config.open_timeout_s
        first = wire.decode(await asyncio.wait_for(ws.recv(decode=False), timeout))
        if not any(s.status == wire.CONNECTED for s in wire.statuses(first)):
            raise wire.ProtocolError(f"expected a 'connected' status, got {first!r:.200}")
        await ws.send(wire.auth_message(self.config.api_key), text=True)
        while True:
            records = wire.decode(await asyncio.wait_for(ws.recv(decode=False), timeout))
            for status in wire.statuses(records):
                self._count_status(status)
                if status.status == wire.AUTH_SUCCESS:
                    return
                if status.status == wire.AUTH_FAILED:
                    raise AuthFailed(f"the market data stream refused the API key: {status.message or 'auth_failed'}")
                if status.status in wire.DISCONNECTING:
                    raise Reconnect(f"server status {status.status}: {status.message}")

    async def _read(self, ws: ClientConnection) -> None:
        recv = ws.recv
        put = self._frames.put
        monotonic = time.monotonic
        while True:
            raw = await recv(decode=False)
            received = self._last_message = monotonic()
            await put((raw, received))

    async def _watchdog(self, ws: ClientConnection) -> None:
        """Close the socket on a stall, when the session ends or on stop; the reader then returns."""
        next_session_check = time.monotonic() + self.config.session_poll_s
        while True:
            await self._sleep(min(1.0, self.config.stall_s / 4))
            if self._stop.is_set():
                await ws.close()
                return
            now = time.monotonic()
            # With nothing subscribed, silence is expected, not a stall.
            if self._subscribed and now - self._last_message > self.config.stall_s:
                self.stats.stalls += 1
                log.warning("no message for %.0f s: reconnecting", now - self._last_message)
                await ws.close()
                return
            if now >= next_session_check:
                next_session_check = now + self.config.session_poll_s
                if not await self._in_executor(self._session_open):
                    log.info("market session closed: disconnecting")
                    await ws.close()
                    return

    # --- trigger -------------------------------------------------------------------------------
    async def _trigger_loop(self) -> None:
        get = self._frames.get
        while True:
            raw, received = await get()
            self._process(raw, received)

    def _process(self, raw: bytes, received: float) -> None:
        stats, counts, channel = self.stats, self.trigger.counts, self.config.channel
        wait_ms = (time.monotonic() - received) * 1000
        if wait_ms > self._lag_ms:
            self._lag_ms = wait_ms
        records = wire.decode(raw)
        stats.frames += 1
        if not records:
            stats.junk_frames += 1
            return
        ignored = counts.ignored
        moves = self.trigger.observe_records(records, channel.price_key, channel.time_key, channel.kinds)
        if counts.ignored != ignored:
            for status in wire.statuses(records):
                self._on_status(status)
        last = records[-1]
        if type(last) is dict:
            at = last.get(channel.time_key)
            if type(at) is int:
                self._newest_event_ms = at
        if self._newest_event_ms is not None:
            # Armed tickers whose wait ended by the feed's own clock (one comparison when none did).
            waited = self.trigger.due(self._newest_event_ms)
            if waited:
                moves += waited
        for move in moves:
            self._moved_at_ms[move.symbol] = move.at_ms
        first_references = self.trigger.take_first_references()
        if moves or first_references:
            self._pending_moves.extend(moves)
            if first_references:
                self._pending_references.update(first_references)
            self._dispatch_ready.set()

    def _count_status(self, status: wire.Status) -> None:
        self.stats.statuses[status.status] = self.stats.statuses.get(status.status, 0) + 1

    def _on_status(self, status: wire.Status) -> None:
        self._count_status(status)
        if status.status in wire.DISCONNECTING:
            log.warning("server status %s: %s", status.status, status.message)
        elif status.status not in (wire.CONNECTED, wire.AUTH_SUCCESS, "success"):
            log.info("server status %s: %s", status.status, status.message)

    def _follow_scan(self, symbol: str, price: float, at_ms: int, profile: Profile | None = None) -> None:
        """A completed scan saw ``price`` at ``at_ms``: measure the next move from it, unless a later
        trigger has already moved the reference. Its volatility and cost set the ticker's scan level."""
        if at_ms >= self._moved_at_ms.get(symbol, 0):
            self.trigger.follow_scan(symbol, price, profile)
            self.stats.scan_references += 1
        elif profile is not None:
            # Too old to move the reference, but still the ticker's latest volatility and cost.
            self.trigger.follow_scan(symbol, float("nan"), profile)

    # --- dispatch (off the event loop) ---------------------------------------------------------
    async def _dispatch_loop(self) -> None:
        while True:
            await self._dispatch_ready.wait()
            await self._flush_dispatch()

    async def _flush_dispatch(self) -> None:
        self._dispatch_ready.clear()
        pending, self._pending_moves = self._pending_moves, []
        references, self._pending_references = self._pending_references, {}
        if not pending and not references:
            return
        # Moves that piled up while the last batch was enqueued: one scan per ticker is enough, at the
        # latest trigger price (a second queued scan of the same chain would fetch it for nothing).
        moves = list({move.symbol: move for move in pending}.values())
        self.stats.coalesced += len(pending) - len(moves)
        loop = asyncio.get_running_loop()
        try:
            # Shielded: stopping must not cancel a batch still waiting for the dispatch thread.
            await asyncio.shield(loop.run_in_executor(self._dispatch_executor, self._dispatch_batch, moves, references))
        except Exception:
            self.stats.dispatch_errors += 1
            log.exception("could not enqueue %d move scans", len(moves))

    def _dispatch_batch(self, moves: list[Move], references: dict[str, float]) -> None:
        references.update((m.symbol, m.price) for m in moves)
        self._references.save(references)
        if moves:
            self.stats.enqueued += self._dispatch(moves)

    # --- watch set -----------------------------------------------------------------------------
    def _watch_changed(self, names: frozenset[str] | None) -> None:
        if names is None or self._changed_names is None:
            self._changed_names = None
        else:
            self._changed_names |= names
        self._watch_dirty.set()

    async def _watch_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._watch_dirty.wait(), self.config.reconcile_s)
            except TimeoutError:
                self._changed_names = None  # the periodic reconciliation looks at everything
            self._watch_dirty.clear()
            names, self._changed_names = self._changed_names, set()
            if names is not None and len(names) > PARTIAL_REFRESH_MAX:
                names = None  # a change this large (a new universe) costs no more to load whole
            try:
                await self._refresh_watch_set(names)
            except Exception:
                self._changed_names = None
                log.exception("could not refresh the watch set; keeping the current one")

    async def _refresh_watch_set(self, names: Set[str] | None = None) -> None:
        """Load the watch set (or, when only ``names`` changed and a loader for them is given, those
        names alone) and bring the trigger and the socket to it."""
        current = self.trigger.watched
        if names is not None and self._load_watch_names is not None:
            if not names:
                return
            watch = await self._in_executor(self._load_watch_names, frozenset(names))
            self.stats.partial_watch_loads += 1
            added = watch.symbols - current
            removed = (names - watch.symbols) & current
        else:
            watch = await self._in_executor(self._load_watch_set)
            self.stats.full_watch_loads += 1
            added = watch.symbols - current
            removed = current - watch.symbols
        references = await self._in_executor(self._references.load, added) if added else {}
        for symbol in added:
            if symbol not in references and symbol in watch.last_scan_prices:
                references[symbol] = watch.last_scan_prices[symbol]
        self.trigger.watch(watch.symbols, watch.thresholds, references, watch.profiles)
        self.trigger.unwatch(removed)
        self.stats.watched = watched = len(self.trigger.watched)
        if added or removed:
            log.info("watch set: %d tickers (+%d, -%d)", watched, len(added), len(removed))
        async with self._subscription_lock:
            await self._sync_subscriptions()

    async def _sync_subscriptions(self) -> None:
        """Bring the live socket's subscriptions to the watch set (caller holds the lock): the
        difference only, and nothing at all while a wildcard covers the set."""
        wanted = self._policy.channels(self.trigger.watched)
        self.stats.wildcard = WILDCARD in wanted
        ws = self._ws
        if ws is None:
            return
        subscribe = wanted - self._subscribed
        unsubscribe = self._subscribed - wanted
        try:
            # Subscribe first: switching between per-name channels and the wildcard leaves no gap.
            for message in wire.subscription_messages("subscribe", self.config.channel, subscribe):
                await ws.send(message, text=True)
                self.stats.subscribe_messages += 1
            if subscribe and not self._subscribed:
                self._last_message = time.monotonic()  # the stall clock starts with the first subscription
            self._subscribed |= subscribe
            for message in wire.subscription_messages("unsubscribe", self.config.channel, unsubscribe):
                await ws.send(message, text=True)
                self.stats.subscribe_messages += 1
            self._subscribed -= unsubscribe
        except ConnectionClosed:
            # The reader sees the close and the supervisor reconnects and resubscribes everything.
            pass

    # --- metrics -------------------------------------------------------------------------------
    def _sync_counts(self) -> None:
        counts = self.trigger.counts
        self.stats.events, self.stats.triggers = counts.events, counts.triggers
        self.stats.suppressed, self.stats.ignored = counts.suppressed, counts.ignored
        self.stats.waited, self.stats.unwatched = counts.waited, counts.unwatched

    def snapshot(self) -> StreamStats:
        self._sync_counts()
        return self.stats

    async def _metrics_loop(self) -> None:
        window = RateWindow()
        window.rates(time.monotonic(), self.snapshot(), 0, 0.0, None)
        while True:
            await asyncio.sleep(self.config.metrics_interval_s)
            feed_delay = None
            if self._market_now_ms is not None and self._newest_event_ms is not None:
                try:
                    feed_delay = await self._in_executor(self._market_now_ms) - self._newest_event_ms
                except Exception:
                    feed_delay = None
            self.last_rates = window.rates(
                time.monotonic(), self.snapshot(), self._frames.qsize(), self._lag_ms, feed_delay
            )
            self.stats.max_queue_wait_ms = max(self.stats.max_queue_wait_ms, self._lag_ms)
            self._lag_ms = 0.0
            log.info("stream %s: %s", self.state, self.last_rates.line())
