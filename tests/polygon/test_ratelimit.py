"""The fleet-wide token bucket: parsing the setting, burst and refill, pauses, and the cap held by
four processes on one real Redis."""

from __future__ import annotations

import multiprocessing
import time

import fakeredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.polygon.errors import RateLimitedError
from scanner.polygon.ratelimit import Rate, RateLimiter


@pytest.mark.parametrize(
    ("spec", "per_second", "capacity"),
    [("10", 10.0, 10.0), ("5/60", 5 / 60, 5.0), (" 2.5 / 1 ", 2.5, 2.5), ("0.5", 0.5, 1.0)],
)
def test_rate_settings(spec, per_second, capacity):
    rate = Rate.parse(spec)
    assert rate.per_second == pytest.approx(per_second) and rate.capacity == capacity


@given(st.text(max_size=12))
def test_any_rate_text_parses_or_is_refused_with_a_clear_message(spec):
    try:
        rate = Rate.parse(spec)
    except ValueError as exc:
        assert "rate" in str(exc)
    else:
        assert rate.per_second > 0 and rate.capacity >= 1


def test_a_bucket_grants_its_burst_then_tells_how_long_to_wait():
    # given a 5-per-minute bucket (a free key)
    limiter = RateLimiter(fakeredis.FakeRedis(), Rate.parse("5/60"), name="free")

    # when
    waits = [limiter.try_acquire() for _ in range(6)]

    # then five at once, the sixth in about 12 s
    assert waits[:5] == [0.0] * 5
    assert 11.5 < waits[5] <= 12.0


def test_acquire_gives_up_at_its_deadline_with_a_retry_hint():
    # given an empty slow bucket
    limiter = RateLimiter(fakeredis.FakeRedis(), Rate.parse("1/60"), name="slow")
    limiter.acquire()

    # when / then
    with pytest.raises(RateLimitedError) as caught:
        limiter.acquire(timeout=0.05)
    assert caught.value.retry_after > 50


def test_a_pause_holds_every_client_of_the_bucket():
    # given two clients of one bucket with tokens to spare
    server = fakeredis.FakeServer()
    first = RateLimiter(fakeredis.FakeRedis(server=server), Rate.parse("100"), name="shared")
    second = RateLimiter(fakeredis.FakeRedis(server=server), Rate.parse("100"), name="shared")

    # when one is told to back off
    first.pause(30)

    # then the other must wait about that long
    assert 29 < second.try_acquire() <= 30


def test_buckets_are_per_api_key_and_do_not_name_the_key():
    client = fakeredis.FakeRedis()
    one = RateLimiter.for_api_key(client, Rate.parse("1/60"), "key-one")
    two = RateLimiter.for_api_key(client, Rate.parse("1/60"), "key-two")
    assert one.key != two.key and "key-one" not in one.key
    assert one.try_acquire() == 0.0 and two.try_acquire() == 0.0


def _hammer(redis_url: str, spec: str, seconds: float, ready, results) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.ping()  # connected before the start, so no process begins late
    limiter = RateLimiter(client, Rate.parse(spec), name="hammer")
    # Every process starts when the last one is ready: spawned interpreters take uneven times to start.
    ready.wait(timeout=60)
    stop_at = time.time() + seconds
    taken = []
    while True:
        try:
            limiter.acquire(timeout=max(0.0, stop_at - time.time()))
        except RateLimitedError:
            break
        now = time.time()
        if now >= stop_at:
            break
        taken.append(now)
    results.put(taken)


@pytest.mark.services
def test_four_processes_together_hold_the_cap(redis_url):
    # given four processes sharing a 40/s bucket on real Redis, starting together
    spec, seconds, workers = "40", 3.0, 4
    context = multiprocessing.get_context("spawn")
    results, ready = context.Queue(), context.Barrier(workers)
    processes = [
        context.Process(target=_hammer, args=(redis_url, spec, seconds, ready, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()

    # when
    taken = sorted(stamp for _ in processes for stamp in results.get(timeout=30))
    for process in processes:
        process.join(timeout=10)

    # then after the initial burst (the bucket's capacity) the achieved rate is the cap, within 10%
    rate = Rate.parse(spec)
    burst = int(rate.capacity)
    steady = [stamp for stamp in taken[burst:]]
    achieved = (len(steady) - 1) / (steady[-1] - steady[0])
    assert achieved == pytest.approx(rate.per_second, rel=0.10)
    assert len(taken) <= burst + rate.per_second * seconds * 1.10
