"""The stocks WebSocket protocol exactly as the vendor's transcript shows it."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosedOK

from marketsim.server import MarketSimServer
from tests.marketsim.conftest import SESSION, get
from tests.marketsim.ws_client import open_session, recv, send, until

TRADE_FIELDS = {"ev", "sym", "i", "x", "p", "s", "t", "q", "z"}
AGG_FIELDS = {"ev", "sym", "v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"}
QUOTE_FIELDS = {"ev", "sym", "bx", "bp", "bs", "ax", "ap", "as", "c", "t", "q", "z"}


@pytest.fixture
def live_sim():
    with MarketSimServer(seed=7, speed=120, session_date=SESSION) as sim:
        yield sim


def test_handshake_auth_and_one_success_per_channel(frozen_sim):
    async def scenario():
        # given
        ws, greeting = await open_session(frozen_sim.ws_url)
        # when
        await send(ws, "subscribe", "A.AAPL,T.MSFT")
        replies = [await recv(ws), await recv(ws)]
        await ws.close()
        return greeting, replies

    greeting, replies = asyncio.run(scenario())
    # then
    assert greeting == [
        {"ev": "status", "status": "connected", "message": "Connected Successfully"},
        {"ev": "status", "status": "auth_success", "message": "authenticated"},
    ]
    assert replies == [
        [{"ev": "status", "status": "success", "message": "subscribed to: A.AAPL"}],
        [{"ev": "status", "status": "success", "message": "subscribed to: T.MSFT"}],
    ]


def test_events_of_every_kind_follow_the_market(live_sim):
    async def scenario():
        ws, _ = await open_session(live_sim.ws_url)
        await send(ws, "subscribe", "T.AAPL,Q.AAPL,A.AAPL,AM.AAPL")
        for _ in range(4):
            await recv(ws)
        events = await until(ws, lambda e: e["ev"] == "AM")
        await ws.close()
        return events

    # when
    events = asyncio.run(scenario())
    # then
    kinds = {e["ev"]: e for e in events}
    assert set(kinds) == {"T", "Q", "A", "AM"} and {e["sym"] for e in events} == {"AAPL"}
    assert set(kinds["T"]) - {"c"} == TRADE_FIELDS and set(kinds["Q"]) == QUOTE_FIELDS
    assert set(kinds["A"]) == AGG_FIELDS and set(kinds["AM"]) == AGG_FIELDS
    assert kinds["AM"]["e"] - kinds["AM"]["s"] == 60_000 and kinds["A"]["e"] - kinds["A"]["s"] == 1_000
    rest_price = get(live_sim, "/v2/snapshot/locale/us/markets/stocks/tickers/AAPL").json()["ticker"]["lastTrade"]["p"]
    assert kinds["T"]["p"] == pytest.approx(rest_price, rel=0.02)


def test_wildcard_subscription_streams_many_symbols(live_sim):
    async def scenario():
        ws, _ = await open_session(live_sim.ws_url)
        await send(ws, "subscribe", "A.*")
        await recv(ws)
        frame = await recv(ws)
        await ws.close()
        return frame

    # when
    frame = asyncio.run(scenario())
    # then
    assert len({e["sym"] for e in frame}) > 100 and len(frame) <= 500


def test_unsubscribe_stops_a_channel(live_sim):
    async def scenario():
        ws, _ = await open_session(live_sim.ws_url)
        await send(ws, "subscribe", "A.MSFT,A.AAPL")
        await recv(ws), await recv(ws)
        await until(ws, lambda e: e.get("sym") == "MSFT")
        await send(ws, "unsubscribe", "A.MSFT")
        ack = await until(ws, lambda e: e["ev"] == "status")
        later = []
        for _ in range(6):  # a frame built before the ack may still be on its way
            later.append(await recv(ws))
        await ws.close()
        return ack, later

    # when
    ack, later = asyncio.run(scenario())
    # then
    assert ack[-1] == {"ev": "status", "status": "success", "message": "unsubscribed to: A.MSFT"}
    assert all(e["sym"] == "AAPL" for frame in later[2:] for e in frame)


def test_injected_move_is_streamed_at_once(frozen_sim):
    async def scenario():
        ws, _ = await open_session(frozen_sim.ws_url)
        await send(ws, "subscribe", "A.NVDA,T.NVDA")
        await recv(ws), await recv(ws)
        move = await asyncio.to_thread(frozen_sim.inject_move, "NVDA", 0.8)
        frame = await recv(ws)
        await ws.close()
        return move, frame

    # when (the clock is frozen, so only the move produces events)
    move, frame = asyncio.run(scenario())
    # then
    by_kind = {e["ev"]: e for e in frame}
    assert set(by_kind) == {"T", "A"}
    assert by_kind["A"]["c"] == move["price_after"]
    assert by_kind["T"]["p"] == pytest.approx(move["price_after"], rel=1e-3)


def test_messages_before_auth_and_garbage_get_error_statuses(frozen_sim):
    async def scenario():
        from websockets.asyncio.client import connect

        async with connect(frozen_sim.ws_url) as ws:
            await recv(ws)
            await send(ws, "subscribe", "A.AAPL")
            early = await recv(ws)
            await ws.send("not json")
            garbage = await recv(ws)
            await send(ws, "auth", "k")
            await recv(ws)
            await send(ws, "subscribe", "X.AAPL")
            invalid = await recv(ws)
        return early, garbage, invalid

    # when
    early, garbage, invalid = asyncio.run(scenario())
    # then
    assert [m["status"] for m in early + garbage + invalid] == ["error", "error", "error"]


def test_a_custom_event_source_feeds_the_protocol():
    # given a source that sends 1,200 trades once someone subscribes
    async def blast(hub):
        await hub.wait_for_subscription()
        await hub.publish([{"ev": "T", "sym": "ZZZ", "p": 1.0 + i, "s": 100, "t": i} for i in range(1_200)])

    async def scenario(sim):
        ws, _ = await open_session(sim.ws_url)
        await send(ws, "subscribe", "T.*")
        await recv(ws)
        frames = [await recv(ws) for _ in range(3)]
        await ws.close()
        return frames

    # when
    with MarketSimServer(speed=0, session_date=SESSION, event_source=blast) as sim:
        frames = asyncio.run(scenario(sim))
    # then
    assert [len(f) for f in frames] == [500, 500, 200]


def test_auth_failure_closes_after_auth_failed(fresh_sim):
    # given
    fresh_sim.set_faults(auth_failure=True)

    async def scenario():
        ws, greeting = await open_session(fresh_sim.ws_url)
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        return greeting

    # when / then
    assert asyncio.run(scenario())[-1]["status"] == "auth_failed"
