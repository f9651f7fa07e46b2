"""Stream consumer throughput over a loopback WebSocket: ours vs the vendor client on trades, and ours at
market size (5,000 watched names of per-second aggregates on one wildcard subscription).

A separate process serves the vendor's protocol on 127.0.0.1 (connected -> auth -> subscribe ->
success statuses) and then sends the same pre-encoded frames (500 events each, 500 tickers) to every
connection before a normal close. Measured:

* ours: :class:`StreamConsumer` (websockets, orjson, the band fast path), from the subscribe to the
  last event through the trigger; moves are dispatched off the loop to a counting dispatcher with
  references saved to an in-process Redis;
* baseline: ``massive.WebSocketClient`` on its default parsed path (json + model objects) feeding
  the same :class:`MoveTrigger` event by event.

Market size (``stream.events_per_s_5000_names``): the same consumer, on the production channel (``A``
per-second aggregates in the vendor's full record: 13 fields), watching 5,000 names. Every second each
name gets one aggregate (a random walk at its own volatility, 15-80 % a year), in shuffled order, frames
of 500 as the simulator sends them; 1,000,000 events (200 seconds of that market). Above the default
``wildcard_above`` (1,000 names) the consumer subscribes ``A.*`` once. The baseline is the same loop on
the same kind of feed at today's watch size (500 names, subscribed name by name), in the same run.
Timed from the subscribe to the last event through the trigger: the socket's receive, the frame queue,
JSON decoding, the trigger, and moves dispatched off the loop (a counting dispatcher; references to an
in-process Redis); the feed runs in another process. A third figure, printed only: the wildcard carrying
the whole market (10,000 names, the 5,000 watched among them), whose other half the trigger loop drops.

Every trigger count must equal an offline computation over the same events (plain loop, exact
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
    _, which, prices, times = events()
    return count_triggers(which, prices, times, FRAME, MIN_INTERVAL_MS)


def count_triggers(which: np.ndarray, prices: np.ndarray, times: np.ndarray, frame: int, min_interval_ms: int) -> int:
    """The exact count, by the definition, independent of the consumer's code: a move of the threshold
    triggers unless it comes within the minimum interval of the ticker's last trigger; then it is
    deferred, and triggers (at the price that first moved) after the first frame whose last event is
    at or past the interval's end (the consumer asks for due moves after each frame). A negative
    ticker index is an unwatched name: it never triggers."""
    total = len(which)
    reference: dict[int, float] = {}
    next_allowed: dict[int, int] = {}
    deferred: dict[int, float] = {}  # ticker -> the price that moved during its interval
    count = 0
    for start in range(0, total, frame):
        end = min(start + frame, total)
        for k, p, t in zip(which[start:end].tolist(), prices[start:end].tolist(), times[start:end].tolist()):
            if k < 0:
                continue
            ref = reference.get(k)
            if ref is None:
                reference[k] = p
            elif abs(p - ref) / ref >= THRESHOLD:
                if t >= next_allowed.get(k, t):
                    count += 1
                    reference[k] = p
                    next_allowed[k] = t + min_interval_ms
                    deferred.pop(k, None)
                else:
                    deferred.setdefault(k, p)
        now = int(times[end - 1])
        for k in [k for k in deferred if next_allowed[k] <= now]:
            count += 1
            reference[k] = deferred.pop(k)
            next_allowed[k] = now + min_interval_ms
    return count


# --- the loopback feed (its own process: the client under test gets a core to itself) ------------
async def _greet(ws) -> None:
    """The vendor's opening: connected, the client's auth, auth_success."""
    await ws.send(b'[{"ev":"status","status":"connected","message":"Connected Successfully"}]', text=True)
    await ws.recv()  # auth
    await ws.send(b'[{"ev":"status","status":"auth_success","message":"authenticated"}]', text=True)


async def _acknowledge(ws, channel: str) -> None:
    message = [{"ev": "status", "status": "success", "message": f"subscribed to: {channel}"}]
    await ws.send(orjson.dumps(message), text=True)


async def _replay(ws, frames: list[bytes]) -> None:
    for frame in frames:
        await ws.send(frame, text=True)
    await ws.close()


def _serve_forever(session, port_out, ready) -> None:
    """Serve ``session`` on a free loopback port, published in ``port_out`` before ``ready`` is set."""
    from websockets.asyncio.server import serve

    async def main() -> None:
        async with serve(session, "127.0.0.1", 0, compression=None, max_size=None) as server:
            port_out.value = server.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.Future()

    asyncio.run(main())


def _serve(port_out, ready) -> None:
    frames = encoded_frames()

    async def session(ws) -> None:
        await _greet(ws)
        subscribed = 0
        while subscribed < TICKERS:
            for channel in orjson.loads(await ws.recv())["params"].split(","):
                subscribed += 1
                await _acknowledge(ws, channel)
        await _replay(ws, frames)

    _serve_forever(session, port_out, ready)


# --- market size: per-second aggregates of thousands of names ---------------------------------------
AGG_EVENTS = 1_000_000
AGG_MIN_INTERVAL_MS = 60_000  # the production default (STREAM_MIN_INTERVAL_S)
SECONDS_PER_YEAR = 252 * 23_400
# (feed path, names the feed carries, names watched): the first `watched` names of the feed are watched.
AGG_FEEDS = {
    "market": (5_000, 5_000),
    "today": (500, 500),
    "whole-market": (10_000, 5_000),
}


def aggregate_symbols(count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return ["".join(letters[i // 26**k % 26] for k in (3, 2, 1, 0)) for i in range(count)]


def aggregate_events(feed: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(names, index of each event's name, close, window start ms, window end ms), deterministic. Every
    second each name closes one aggregate, in a shuffled order, on a random walk at its own volatility."""
    count, _ = AGG_FEEDS[feed]
    rng = np.random.default_rng(SEED)
    seconds = -(-AGG_EVENTS // count)
    sigma = rng.uniform(0.15, 0.80, count) / np.sqrt(SECONDS_PER_YEAR)
    walk = np.log(rng.uniform(5, 500, count)) + np.cumsum(rng.normal(0.0, 1.0, (seconds, count)) * sigma, axis=0)
    order = np.argsort(rng.random((seconds, count)), axis=1)
    second = np.repeat(np.arange(seconds), count)[:AGG_EVENTS]
    which = order.ravel()[:AGG_EVENTS]
    closes = np.round(np.exp(walk[second, which]), 2)
    starts = START_MS + second.astype(np.int64) * 1000
    return aggregate_symbols(count), which, closes, starts, starts + 1000


def aggregate_frames(feed: str) -> list[bytes]:
    """The vendor's full ``A`` record (DESIGN.md §4 samples), frames of FRAME events."""
    names, which, closes, starts, ends = aggregate_events(feed)
    rng = np.random.default_rng(SEED + 1)
    volume = rng.integers(100, 50_000, AGG_EVENTS).tolist()
    wiggle = rng.uniform(0.0, 0.002, AGG_EVENTS)
    highs = np.round(closes * (1 + wiggle), 2).tolist()
    lows = np.round(closes * (1 - wiggle), 2).tolist()
    closes_l, which_l, starts_l, ends_l = closes.tolist(), which.tolist(), starts.tolist(), ends.tolist()
    frames = []
    for begin in range(0, AGG_EVENTS, FRAME):
        records = []
        for i in range(begin, min(begin + FRAME, AGG_EVENTS)):
            close = closes_l[i]
            records.append(
                {
                    "ev": "A",
                    "sym": names[which_l[i]],
                    "v": volume[i],
                    "av": volume[i] * 40,
                    "op": close,
                    "vw": round((highs[i] + lows[i]) / 2, 4),
                    "o": close,
                    "c": close,
                    "h": highs[i],
                    "l": lows[i],
                    "a": close,
                    "z": 50,
                    "s": starts_l[i],
                    "e": ends_l[i],
                }
            )
        frames.append(orjson.dumps(records))
    return frames


def aggregate_trigger_count(feed: str) -> int:
    _, which, closes, _, ends = aggregate_events(feed)
    _, watched = AGG_FEEDS[feed]
    return count_triggers(np.where(which < watched, which, -1), closes, ends, FRAME, AGG_MIN_INTERVAL_MS)


def _serve_aggregates(port_out, ready) -> None:
    """Each feed at ``/<feed>``: after the subscribe covers the watch set (``A.*`` or every name)."""
    feeds = {feed: aggregate_frames(feed) for feed in AGG_FEEDS}

    async def session(ws) -> None:
        feed = ws.request.path.strip("/")
        frames, watched = feeds[feed], AGG_FEEDS[feed][1]
        await _greet(ws)
        channels: set[str] = set()
        while "A.*" not in channels and len(channels) < watched:
            for channel in orjson.loads(await ws.recv())["params"].split(","):
                channels.add(channel)
                await _acknowledge(ws, channel)
        if "A.*" not in channels and AGG_FEEDS[feed][0] > watched:
            raise RuntimeError(f"feed {feed} carries unwatched names: it is only for a wildcard subscription")
        await _replay(ws, frames)

    _serve_forever(session, port_out, ready)


def run_market_size(context) -> list[dict]:
    from scanner.stream.consumer import StreamConfig

    expected = {feed: aggregate_trigger_count(feed) for feed in AGG_FEEDS}
    port, ready = context.Value("i", 0), context.Event()
    server = context.Process(target=_serve_aggregates, args=(port, ready), daemon=True)
    server.start()
    rates: dict[str, list[float]] = {feed: [] for feed in AGG_FEEDS}
    try:
        if not ready.wait(300):
            raise RuntimeError("the aggregate feed did not start")
        for _ in range(RUNS):
            for feed, (_, watched) in AGG_FEEDS.items():
                elapsed, triggered = run_ours(
                    f"ws://127.0.0.1:{port.value}/{feed}",
                    "A",
                    aggregate_symbols(watched),
                    AGG_MIN_INTERVAL_MS,
                    AGG_EVENTS,
                    wildcard_expected=watched > StreamConfig.wildcard_above,
                )
                if triggered != expected[feed]:
                    raise AssertionError(f"{feed}: {triggered} triggers, offline count {expected[feed]}")
                rates[feed].append(AGG_EVENTS / elapsed)
    finally:
        server.terminate()
        server.join(5)
    medians = {feed: statistics.median(values) for feed, values in rates.items()}
    for feed, (count, watched) in AGG_FEEDS.items():
        print(
            f"   A aggregates, {feed}: {count:,} names in the feed, {watched:,} watched, {expected[feed]:,} triggers "
            f"(offline count matched); runs {[round(x) for x in rates[feed]]} events/s, median {medians[feed]:,.0f}"
        )
    market, today = medians["market"], medians["today"]
    return [
        {
            "name": "stream.events_per_s_5000_names",
            "value": round(market),
            "unit": "events/s",
            "baseline": round(today),
            "ratio": round(market / today, 2),
            "goal": ">= 500000",
        }
    ]


# --- ours ----------------------------------------------------------------------------------------
def run_ours(
    url: str,
    channel: str = "T",
    watched: list[str] | None = None,
    min_interval_ms: int = MIN_INTERVAL_MS,
    events_sent: int = EVENTS,
    wildcard_expected: bool = False,
) -> tuple[float, int]:
    """Seconds from the subscribe to the last of ``events_sent`` events through the trigger, and the
    triggers. ``watched``: the watch set (default: the trades feed's 500 tickers)."""
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
        wire.channel(channel),
        THRESHOLD,
        min_interval_ms / 1000,
        metrics_interval_s=3600,
        backoff_initial_s=60,
    )
    consumer = StreamConsumer(
        config,
        redis_client=fakeredis.FakeRedis(),
        load_watch_set=lambda: WatchSet(frozenset(watched or symbols())),
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
        # Every event record, watched or not (the subscribe statuses count as ignored records).
        while counts.events - counts.ignored < events_sent:
            await asyncio.sleep(0.001)
            if task.done():
                task.result()
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        return elapsed

    elapsed = asyncio.run(main())
    if consumer.stats.wildcard != wildcard_expected:
        raise AssertionError(f"expected wildcard={wildcard_expected}, the consumer chose {consumer.stats.wildcard}")
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
        *run_market_size(context),
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
