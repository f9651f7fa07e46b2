"""Stream consumer throughput: 1,000,000 trade events over a loopback WebSocket, ours vs the vendor client.

A separate process serves the vendor's protocol on 127.0.0.1 (connected -> auth -> subscribe ->
success statuses) and then sends the same pre-encoded frames (500 events each, 500 tickers) to every
connection before a normal close. Measured:

* ours: :class:`StreamConsumer` (websockets, orjson, the band fast path), from the subscribe to the
  last event through the trigger; moves are dispatched off the loop to a counting dispatcher with
  references saved to an in-process Redis;
* baseline: ``massive.WebSocketClient`` on its default parsed path (json + model objects) feeding
  the same :class:`MoveTrigger` event by event.

Both trigger counts must equal an offline computation over the same events (plain loop, exact
formula), or the benchmark fails.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time

import numpy as np
import orjson

EVENTS = 1_000_000
FRAME = 500
TICKERS = 500
THRESHOLD = 0.005
MIN_INTERVAL_MS = 5_000
RUNS = 3
SEED = 7
START_MS = 1_760_000_000_000


def symbols() -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [letters[i // 26 % 26] + letters[i % 26] + "X" + letters[i // 676] for i in range(TICKERS)]


def events() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(symbols, ticker index, price, time ms) of every event, deterministic for the seed."""
    rng = np.random.default_rng(SEED)
    names = symbols()
    which = rng.integers(0, TICKERS, EVENTS)
    steps = rng.normal(0.0, 0.0012, EVENTS)
    level = rng.uniform(20, 400, TICKERS)
    # A random walk per ticker in event order: cumulative sums within each ticker's events.
    order = np.argsort(which, kind="stable")
    grouped = which[order]
    walk = np.cumsum(steps[order])
    first = np.searchsorted(grouped, np.arange(TICKERS))
    walk -= (walk[first] - steps[order][first])[grouped]
    prices = np.empty(EVENTS)
    prices[order] = np.log(level)[grouped] + walk
    prices = np.round(np.exp(prices), 2)
    times = START_MS + np.arange(EVENTS, dtype=np.int64)
    return names, which, prices, times


def encoded_frames() -> list[bytes]:
    names, which, prices, times = events()
    frames = []
    for start in range(0, EVENTS, FRAME):
        frames.append(
            orjson.dumps(
                [
                    {
                        "ev": "T",
                        "sym": names[which[i]],
                        "i": str(i),
                        "x": 10,
                        "p": float(prices[i]),
                        "s": 100,
                        "c": [14, 41],
                        "t": int(times[i]),
                        "q": i,
                        "z": 3,
                    }
                    for i in range(start, start + FRAME)
                ]
            )
        )
    return frames


def offline_trigger_count() -> int:
    """The exact count, by the definition, independent of the consumer's code: a move of the threshold
    triggers unless it comes within the minimum interval of the ticker's last trigger; then it is
    deferred, and triggers (at the price that first moved) after the first frame whose last event is
    at or past the interval's end (the consumer asks for due moves after each frame)."""
    names, which, prices, times = events()
    reference: dict[int, float] = {}
    next_allowed: dict[int, int] = {}
    deferred: dict[int, float] = {}  # ticker -> the price that moved during its interval
    count = 0
    for start in range(0, EVENTS, FRAME):
        frame = zip(which[start : start + FRAME].tolist(), prices[start : start + FRAME].tolist())
        for (k, p), t in zip(frame, times[start : start + FRAME].tolist()):
            ref = reference.get(k)
            if ref is None:
                reference[k] = p
            elif abs(p - ref) / ref >= THRESHOLD:
                if t >= next_allowed.get(k, t):
                    count += 1
                    reference[k] = p
                    next_allowed[k] = t + MIN_INTERVAL_MS
                    deferred.pop(k, None)
                else:
                    deferred.setdefault(k, p)
        now = int(times[start + FRAME - 1])
        for k in [k for k in deferred if next_allowed[k] <= now]:
            count += 1
            reference[k] = deferred.pop(k)
            next_allowed[k] = now + MIN_INTERVAL_MS
    return count


# --- the loopback feed (its own process: the client under test gets a core to itself) ------------
def _serve(port_out, ready) -> None:
    from websockets.asyncio.server import serve

    frames = encoded_frames()

    async def session(ws) -> None:
        await ws.send(b'[{"ev":"status","status":"connected","message":"Connected Successfully"}]', text=True)
        await ws.recv()  # auth
        await ws.send(b'[{"ev":"status","status":"auth_success","message":"authenticated"}]', text=True)
        subscribed = 0
        while subscribed < TICKERS:
            for channel in orjson.loads(await ws.recv())["params"].split(","):
                subscribed += 1
                await ws.send(
                    orjson.dumps([{"ev": "status", "status": "success", "message": f"subscribed to: {channel}"}]),
                    text=True,
                )
        for frame in frames:
            await ws.send(frame, text=True)
        await ws.close()

    async def main() -> None:
        async with serve(session, "127.0.0.1", 0, compression=None, max_size=None) as server:
            port_out.value = server.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.Future()

    asyncio.run(main())


# --- ours ----------------------------------------------------------------------------------------
def run_ours(url: str) -> tuple[float, int]:
    import fakeredis

    from scanner.polygon import wire
    from scanner.stream.consumer import StreamConfig, StreamConsumer
    from scanner.stream.watchset import WatchSet

    dispatched = 0

    def dispatch(moves) -> int:
        nonlocal dispatched
        dispatched += len(moves)
        return len(moves)

    config = StreamConfig(
        url,
        "bench-key",
        wire.channel("T"),
        THRESHOLD,
        MIN_INTERVAL_MS / 1000,
        metrics_interval_s=3600,
        backoff_initial_s=60,
    )
    consumer = StreamConsumer(
        config,
        redis_client=fakeredis.FakeRedis(),
        load_watch_set=lambda: WatchSet(frozenset(symbols())),
        dispatch=dispatch,
        session_open=lambda: True,
    )

    async def main() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        while consumer.state != "streaming":
            await asyncio.sleep(0.001)
        started = time.perf_counter()
        counts = consumer.trigger.counts
        while counts.events - counts.ignored < EVENTS:
            await asyncio.sleep(0.001)
            if task.done():
                task.result()
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        return elapsed

    elapsed = asyncio.run(main())
    # Moves that waited for the dispatcher are merged per ticker; the trigger decisions are what we check.
    assert dispatched + consumer.stats.coalesced == consumer.trigger.counts.triggers
    return elapsed, consumer.trigger.counts.triggers


# --- baseline: the vendor client's default parsed path ---------------------------------------------
def run_vendor_client(port: int) -> tuple[float, int]:
    from massive import WebSocketClient

    from scanner.stream.trigger import MoveTrigger

    trigger = MoveTrigger(THRESHOLD, MIN_INTERVAL_MS)
    trigger.watch(symbols())
    triggered = 0

    async def processor(messages) -> None:
        nonlocal triggered
        observe = trigger.observe
        for message in messages:
            if observe(message.symbol, message.price, message.timestamp) is not None:
                triggered += 1
        if messages:
            # As the consumer does after each frame: moves deferred by the minimum interval.
            triggered += len(trigger.due(messages[-1].timestamp))

    client = WebSocketClient(
        api_key="bench-key",
        feed=f"127.0.0.1:{port}",
        market="stocks",
        secure=False,
        subscriptions=[f"T.{s}" for s in symbols()],
        max_reconnects=0,
    )
    started = time.perf_counter()
    asyncio.run(client.connect(processor))  # returns after the feed's normal close
    elapsed = time.perf_counter() - started
    if trigger.counts.events != EVENTS:
        raise AssertionError(f"the vendor client delivered {trigger.counts.events} of {EVENTS} events")
    return elapsed, triggered


def run() -> list[dict]:
    expected = offline_trigger_count()
    context = multiprocessing.get_context("fork")
    port, ready = context.Value("i", 0), context.Event()
    feed = context.Process(target=_serve, args=(port, ready), daemon=True)
    feed.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the loopback feed did not start")
        url = f"ws://127.0.0.1:{port.value}/stocks"
        ours, baseline = [], []
        for _ in range(RUNS):
            elapsed, triggered = run_ours(url)
            if triggered != expected:
                raise AssertionError(f"stream consumer triggered {triggered} moves, offline count {expected}")
            ours.append(EVENTS / elapsed)
            elapsed, triggered = run_vendor_client(port.value)
            if triggered != expected:
                raise AssertionError(f"vendor-client path triggered {triggered} moves, offline count {expected}")
            baseline.append(EVENTS / elapsed)
    finally:
        feed.terminate()
        feed.join(5)
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    print(
        f"   {EVENTS:,} events, {expected:,} triggers (offline count matched); runs ours "
        f"{[round(x) for x in ours]}, vendor client {[round(x) for x in baseline]} events/s"
    )
    return [
        {
            "name": "stream.events_per_s",
            "value": round(ours_median),
            "unit": "events/s",
            "baseline": round(baseline_median),
            "ratio": round(ours_median / baseline_median, 2),
            "goal": ">= 500000",
        },
        {
            "name": "stream.vs_client_ratio",
            "value": round(ours_median / baseline_median, 2),
            "unit": "x",
            "baseline": None,
            "ratio": None,
            "goal": ">= 3",
        },
    ]
