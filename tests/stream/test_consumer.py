"""The stream consumer against the simulated market over loopback, with real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from scanner.stream.consumer import AuthFailed
from scanner.stream.references import REFERENCES_KEY
from testing.polling import wait_for
from tests.stream.conftest import aggregate, subscribed

pytestmark = pytest.mark.services

T0 = 1_763_650_000_000


def processed(running, count: int) -> bool:
    counts = running.consumer.trigger.counts
    return counts.events - counts.ignored >= count


def test_a_small_move_does_not_trigger_and_a_half_percent_move_triggers_once(
    scripted_market, start_stream, redis_client
):
    # given a consumer watching AAPL on the simulated market
    sim, tape = scripted_market
    running = start_stream(sim.ws_url, {"AAPL"})
    wait_for(lambda: "AAPL" in subscribed(sim), what="the subscribe to reach the market")
    # when AAPL prints 100, then 100.1
    tape.send(aggregate("AAPL", 100.0, T0), aggregate("AAPL", 100.1, T0 + 1000))
    wait_for(lambda: processed(running, 2), what="two events through the trigger")
    assert running.moves == []
    # and then 100.6
    tape.send(aggregate("AAPL", 100.6, T0 + 2000))
    wait_for(lambda: running.moves, what="a move")
    result = running.stop()
    # then exactly one move, from 100 to 100.6, and the reference in Redis is 100.6
    assert [(m.symbol, m.reference, m.price) for m in running.moves] == [("AAPL", 100.0, 100.6)]
    assert result.stats.triggers == 1 and result.stats.enqueued == 1
    assert float(redis_client.hget(REFERENCES_KEY, "AAPL")) == 100.6


def test_moves_that_pile_up_while_a_batch_is_enqueued_become_one_scan_per_ticker(scripted_market, start_stream):
    # given a consumer whose first enqueue is slow (a busy broker)
    import threading

    sim, tape = scripted_market
    gate, batches = threading.Event(), []

    def slow_dispatch(moves):
        batches.append([(m.symbol, m.price) for m in moves])
        gate.wait(10)
        return len(moves)

    running = start_stream(sim.ws_url, {"AAPL"}, record=False, dispatch=slow_dispatch, min_interval_s=0)
    wait_for(lambda: "AAPL" in subscribed(sim), what="the subscribe")
    tape.send(aggregate("AAPL", 100.0, T0), aggregate("AAPL", 101.0, T0 + 1000))
    wait_for(lambda: batches, what="the first batch to reach the broker")
    # when AAPL moves twice more while that batch is still being enqueued
    tape.send(aggregate("AAPL", 102.0, T0 + 2000), aggregate("AAPL", 103.0, T0 + 3000))
    wait_for(lambda: processed(running, 4), what="four events through the trigger")
    gate.set()
    wait_for(lambda: len(batches) == 2, what="the second batch")
    result = running.stop()
    # then three moves triggered, but the two that waited become one scan at the latest price
    assert batches == [[("AAPL", 101.0)], [("AAPL", 103.0)]]
    assert result.stats.triggers == 3
    assert result.stats.enqueued == 2 and result.stats.coalesced == 1


def listening_for_scans(redis_client) -> bool:
    from scanner.stream.references import REFERENCES_CHANNEL

    return dict(redis_client.pubsub_numsub(REFERENCES_CHANNEL)).get(REFERENCES_CHANNEL.encode(), 0) > 0


def test_a_scan_moves_the_reference_of_the_running_consumer(scripted_market, start_stream, redis_client):
    from scanner.stream.references import publish_scan_reference

    # given a consumer whose AAPL reference is 100
    sim, tape = scripted_market
    running = start_stream(sim.ws_url, {"AAPL"})
    wait_for(lambda: "AAPL" in subscribed(sim) and listening_for_scans(redis_client), what="the subscriptions")
    tape.send(aggregate("AAPL", 100.0, T0))
    wait_for(lambda: processed(running, 1), what="the first event")
    # when a heartbeat scan sees 100.4
    publish_scan_reference(redis_client, "AAPL", 100.4, T0 + 1000)
    wait_for(lambda: running.consumer.stats.scan_references == 1, what="the scan's price to reach the consumer")
    # then 100.8 (0.8% above 100, 0.4% above the scan) does not trigger, and 101.0 does, from 100.4
    tape.send(aggregate("AAPL", 100.8, T0 + 2000), aggregate("AAPL", 101.0, T0 + 3000))
    wait_for(lambda: running.moves, what="a move")
    running.stop()
    assert [(m.reference, m.price) for m in running.moves] == [(100.4, 101.0)]


def test_an_older_scan_does_not_undo_a_newer_trigger(scripted_market, start_stream, redis_client):
    from scanner.stream.references import publish_scan_reference

    # given a consumer that triggered on AAPL at 100.6
    sim, tape = scripted_market
    running = start_stream(sim.ws_url, {"AAPL"})
    wait_for(lambda: "AAPL" in subscribed(sim) and listening_for_scans(redis_client), what="the subscriptions")
    tape.send(aggregate("AAPL", 100.0, T0), aggregate("AAPL", 100.6, T0 + 1000))
    wait_for(lambda: running.moves, what="the first move")
    # when a scan whose snapshot predates that trigger reports 100.2, and then a newer one reports 100.7
    publish_scan_reference(redis_client, "AAPL", 100.2, T0 + 500)
    publish_scan_reference(redis_client, "AAPL", 100.7, T0 + 1500)
    wait_for(lambda: running.consumer.stats.scan_references == 1, what="the newer scan's price")
    running.stop()
    # then only the newer scan moved the reference
    assert running.consumer.trigger.reference("AAPL") == 100.7


def test_a_scans_volatility_and_cost_set_the_scan_level_and_a_smaller_move_waits_its_turn(
    scripted_market, start_stream, redis_client
):
    from scanner.stream.references import publish_scan_reference
    from scanner.stream.rule import TriggerRule

    # given a consumer with the trigger rule (30 % and 4 requests scan on 0.5 %; moves wait 30 s at most)
    sim, tape = scripted_market
    running = start_stream(sim.ws_url, {"AAPL"}, rule=TriggerRule(max_wait_s=30, reference_vol=0.3, reference_cost=4))
    wait_for(lambda: "AAPL" in subscribed(sim) and listening_for_scans(redis_client), what="the subscriptions")
    # when a scan at 100 reports 60 % volatility and 16 requests (a scan level of 2 %)
    publish_scan_reference(redis_client, "AAPL", 100.0, T0, vol=0.6, requests=16)
    wait_for(lambda: running.consumer.stats.scan_references == 1, what="the scan to reach the consumer")
    assert running.consumer.trigger.scan_level("AAPL") == 0.02
    # and AAPL moves 0.6 %, drifts back, and the feed's clock passes the 30 s wait
    tape.send(aggregate("AAPL", 100.6, T0 + 1000), aggregate("AAPL", 100.3, T0 + 20_000))
    wait_for(lambda: processed(running, 2), what="two events through the trigger")
    assert running.moves == []
    tape.send(aggregate("AAPL", 100.2, T0 + 31_000))
    wait_for(lambda: running.moves, what="the move at the end of its wait")
    result = running.stop()
    # then the 0.6 % move is scanned when its wait ends, by the feed's time
    assert [(m.reference, m.price, m.at_ms) for m in running.moves] == [(100.0, 100.6, T0 + 31_000)]
    assert result.stats.waited == 1


def test_a_restart_keeps_the_reference(scripted_market, start_stream, redis_client):
    # given a reference of 100.6 left in Redis by an earlier run
    sim, tape = scripted_market
    redis_client.hset(REFERENCES_KEY, "AAPL", "100.6")
    # when a new consumer sees 100.9 (0.3% above it, 0.9% above 100) and then 101.2
    running = start_stream(sim.ws_url, {"AAPL"})
    wait_for(lambda: "AAPL" in subscribed(sim), what="the subscribe")
    tape.send(aggregate("AAPL", 100.9, T0))
    wait_for(lambda: processed(running, 1), what="the first event")
    assert running.moves == []
    tape.send(aggregate("AAPL", 101.2, T0 + 1000))
    wait_for(lambda: running.moves, what="a move")
    running.stop()
    # then only 101.2 triggers, measured from 100.6
    assert [(m.reference, m.price) for m in running.moves] == [(100.6, 101.2)]


def test_junk_frames_from_the_server_do_not_stop_the_reader(scripted_market, start_stream):
    # given a consumer on AAPL
    sim, tape = scripted_market
    running = start_stream(sim.ws_url, {"AAPL"}, min_interval_s=0)
    wait_for(lambda: "AAPL" in subscribed(sim), what="the subscribe")
    # when malformed events arrive between good ones
    tape.send(
        aggregate("AAPL", 100.0, T0),
        {"ev": "A", "sym": "AAPL", "c": "abc", "e": T0},
        {"ev": "A", "sym": "AAPL", "c": None},
        {"ev": "A", "sym": "AAPL", "c": -5.0, "e": T0},
        {"ev": "A", "sym": "AAPL", "c": [1], "e": T0},
        aggregate("AAPL", 101.0, T0 + 1000),
    )
    wait_for(lambda: running.moves, what="the move after the junk")
    # then the good events still trigger
    assert [(m.reference, m.price) for m in running.moves] == [(100.0, 101.0)]
    assert running.consumer.state == "streaming"


def test_an_aborted_socket_reconnects_and_resubscribes(market, start_stream):
    # given a consumer streaming two tickers
    running = start_stream(market.ws_url, {"AAPL", "MSFT"})
    wait_for(lambda: {"AAPL", "MSFT"} <= subscribed(market), what="the subscribe")
    # when the market drops the connection without a close frame
    market.set_faults(ws_abort=1)
    # then the consumer connects again and subscribes to both again
    wait_for(lambda: running.consumer.stats.connects >= 2, what="a second connection")
    wait_for(lambda: {"AAPL", "MSFT"} <= subscribed(market), what="the resubscribe")
    assert running.consumer.stats.reconnects >= 1


def test_a_forced_disconnect_reconnects(market, start_stream):
    # given a streaming consumer
    running = start_stream(market.ws_url, {"AAPL"})
    wait_for(lambda: "AAPL" in subscribed(market), what="the subscribe")
    # when the vendor sends force_disconnect and closes normally
    market.set_faults(force_disconnect=1)
    # then it reconnects and resubscribes
    wait_for(lambda: running.consumer.stats.connects >= 2, what="a second connection")
    wait_for(lambda: "AAPL" in subscribed(market), what="the resubscribe")


def test_a_stalled_stream_is_reconnected(scripted_market, start_stream):
    # given a consumer with a 1 s stall limit on a tape that sends nothing
    sim, _ = scripted_market
    running = start_stream(sim.ws_url, {"AAPL"}, stall_s=1.0)
    # when no message arrives for longer than that
    # then it reconnects
    wait_for(
        lambda: running.consumer.stats.stalls >= 1 and running.consumer.stats.connects >= 2, what="a stall reconnect"
    )


def test_auth_failed_stops_with_a_clear_error_and_no_retry(market, start_stream):
    # given a market that refuses the key
    market.set_faults(auth_failure=True)
    # when the consumer starts
    running = start_stream(market.ws_url, {"AAPL"})
    running.thread.join(20)
    # then it stops with AuthFailed after a single connection attempt
    assert isinstance(running.error, AuthFailed)
    assert "refused the API key" in str(running.error)
    assert market.stats()["ws_connections"] == 1


STANDBY_LEADER_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forwardfactor.settings")
    import django
    django.setup()
    from scanner.polygon import wire
    from scanner.stream.consumer import StreamConfig
    from scanner.stream.service import run_stream
    from scanner.stream.watchset import WatchSet
    config = StreamConfig(sys.argv[1], "test-key", wire.channel("A"))
    run_stream(config=config, load_watch_set=lambda: WatchSet(frozenset({"AAPL"})), dispatch=len,
               session_open=lambda: True, market_clock_ms=None)
""")


def test_the_standby_takes_over_when_the_leader_dies(market, start_stream, redis_client):
    # given a leader in another process, streaming
    from scanner.stream.leader import LEADER_KEY

    leader = subprocess.Popen(
        [sys.executable, "-c", STANDBY_LEADER_SCRIPT, market.ws_url],
        cwd=os.getcwd(),
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: redis_client.get(LEADER_KEY), timeout=30, what="the leader to take the lock")
        wait_for(lambda: "AAPL" in subscribed(market), timeout=30, what="the leader to subscribe")
        # and a second consumer, which waits as a standby
        standby = start_stream(market.ws_url, {"AAPL"})
        wait_for(lambda: market.stats()["ws_connections"] >= 1, what="the leader's connection")
        assert standby.consumers == []
        # when the leader is killed without releasing anything
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        # then the standby streams within 10 s
        wait_for(
            lambda: standby.consumers and standby.consumers[0].state == "streaming",
            timeout=10,
            what="the standby to take over",
        )
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.wait(10)
