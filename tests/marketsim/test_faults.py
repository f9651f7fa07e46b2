"""Each fault switch of the simulated vendor, on REST and on the stocks socket."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from marketsim.faults import Faults
from marketsim.server import MarketSimServer
from tests.marketsim.conftest import SESSION, get
from tests.marketsim.ws_client import open_session, recv, send

STATUS = "/v1/marketstatus/now"
CHAIN = "/v3/snapshot/options/AAPL"


def test_latency_delays_every_answer(fresh_sim):
    # given
    fresh_sim.set_faults(latency_ms=150)
    # when
    started = time.monotonic()
    answer = get(fresh_sim, STATUS)
    # then (a lower bound only: the server sleeps before answering)
    assert answer.status_code == 200 and time.monotonic() - started >= 0.15


def test_rate_limit_for_the_next_n_requests_carries_retry_after(fresh_sim):
    # given
    fresh_sim.set_faults(rate_limit=2, retry_after=7)
    # when
    answers = [get(fresh_sim, STATUS) for _ in range(3)]
    # then
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7" and answers[0].json()["status"] == "ERROR"


def test_rate_limit_as_a_fraction_hits_some_requests(fresh_sim):
    # given
    fresh_sim.set_faults(rate_limit=0.5)
    # when
    codes = [get(fresh_sim, STATUS).status_code for _ in range(40)]
    # then
    assert set(codes) == {200, 429}


def test_server_errors_answer_5xx(fresh_sim):
    # given
    fresh_sim.set_faults(server_errors=4)
    # when
    codes = [get(fresh_sim, STATUS).status_code for _ in range(5)]
    # then
    assert codes == [502, 503, 504, 500, 200]


def test_truncated_json_cannot_be_parsed(fresh_sim):
    # given
    fresh_sim.set_faults(truncated_json=1)
    # when
    broken, whole = get(fresh_sim, CHAIN), get(fresh_sim, CHAIN)
    # then
    assert broken.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(broken.content)
    assert orjson.loads(whole.content)["results"]


def test_repeat_cursor_makes_next_url_repeat_forever(fresh_sim):
    # given
    fresh_sim.set_faults(repeat_cursor=True)
    first = get(fresh_sim, CHAIN, limit=5).json()
    # when
    second = get(fresh_sim, CHAIN, cursor=first["next_url"].split("cursor=")[1]).json()
    third = get(fresh_sim, CHAIN, cursor=second["next_url"].split("cursor=")[1]).json()
    # then
    assert first["next_url"] == second["next_url"] == third["next_url"]


def test_auth_failure_and_not_authorized(fresh_sim):
    # when
    fresh_sim.set_faults(auth_failure=True)
    unknown_key = get(fresh_sim, STATUS)
    fresh_sim.set_faults(auth_failure=False, not_authorized=True)
    not_entitled = get(fresh_sim, CHAIN)
    # then
    assert unknown_key.status_code == 401 and unknown_key.json()["status"] == "ERROR"
    assert not_entitled.status_code == 403 and not_entitled.json()["status"] == "NOT_AUTHORIZED"


def test_unknown_switch_and_bad_value_are_refused():
    # given
    faults = Faults()
    # when / then
    with pytest.raises(ValueError, match="unknown fault switch"):
        faults.update(lag=3)
    with pytest.raises(ValueError, match="rate_limit"):
        faults.update(rate_limit="lots")


@pytest.fixture
def live_sim():
    with MarketSimServer(seed=7, speed=120, session_date=SESSION) as sim:
        yield sim


def test_ws_abort_drops_the_open_connection_without_a_close_frame(live_sim):
    async def scenario():
        ws, _ = await open_session(live_sim.ws_url)
        await send(ws, "subscribe", "A.AAPL")
        await recv(ws)
        await asyncio.to_thread(live_sim.set_faults, ws_abort=1)
        with pytest.raises(ConnectionClosedError) as closed:
            while True:
                await recv(ws)
        reconnect, greeting = await open_session(live_sim.ws_url)
        await reconnect.close()
        return closed.value, greeting

    # when
    closed, greeting = asyncio.run(scenario())
    # then
    assert closed.rcvd is None
    assert greeting[-1]["status"] == "auth_success"


def test_slow_frames_delay_each_event_frame(live_sim):
    async def scenario():
        ws, _ = await open_session(live_sim.ws_url)
        await send(ws, "subscribe", "A.AAPL")
        await recv(ws)
        await recv(ws)
        await asyncio.to_thread(live_sim.set_faults, slow_frames=300)
        await recv(ws)  # possibly sent before the switch
        started = time.monotonic()
        await recv(ws)
        await recv(ws)
        await ws.close()
        return time.monotonic() - started

    # then (a lower bound only)
    assert asyncio.run(scenario()) >= 0.3


def test_second_connection_gets_max_connections_then_a_normal_close(frozen_sim):
    # given
    frozen_sim.set_faults(max_connections=1)

    async def scenario():
        first, _ = await open_session(frozen_sim.ws_url)
        second, greeting = await open_session(frozen_sim.ws_url)
        with pytest.raises(ConnectionClosedOK) as closed:
            await second.recv()
        await first.close()
        return greeting, closed.value

    # when
    try:
        greeting, closed = asyncio.run(scenario())
    finally:
        frozen_sim.set_faults(max_connections=0)
    # then
    assert greeting[-1]["status"] == "max_connections"
    assert closed.rcvd.code == 1000


def test_force_disconnect_sends_the_status_then_closes(frozen_sim):
    async def scenario():
        ws, _ = await open_session(frozen_sim.ws_url)
        await asyncio.to_thread(frozen_sim.set_faults, force_disconnect=1)
        message = await recv(ws)
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        return message

    # when / then
    assert asyncio.run(scenario())[0]["status"] == "force_disconnect"
