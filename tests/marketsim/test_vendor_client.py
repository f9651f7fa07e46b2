"""Item 4: the vendor's own client (`massive`) reads the simulator over REST and WebSocket."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import massive
import orjson
from massive.websocket.models import EquityAgg

from tests.marketsim.conftest import KEY, SESSION


def test_vendor_rest_client_reads_chain_grouped_daily_status_and_snapshot(frozen_sim):
    # given
    client = massive.RESTClient(api_key=KEY, base=frozen_sim.rest_url, retries=0)
    # when
    chain = list(client.list_snapshot_options_chain("AAPL", params={"limit": 50, "expiration_date": "2025-04-17"}))
    grouped = client.get_grouped_daily_aggs("2025-03-07")
    weekend = client.get_grouped_daily_aggs("2025-03-08")
    status = client.get_market_status()
    snapshot = client.get_snapshot_ticker("stocks", "AAPL")
    contracts = list(client.list_options_contracts(underlying_ticker="AAPL", limit=1000))
    # then
    assert len(chain) > 100  # the client followed next_url
    assert {c.details.expiration_date for c in chain} == {"2025-04-17"}
    priced = [c for c in chain if c.implied_volatility is not None]
    assert priced and all(c.greeks.delta is not None and c.last_quote.bid <= c.last_quote.ask for c in priced)
    assert chain[0].underlying_asset.price > 0
    assert len(grouped) > 500 and {g.ticker for g in grouped} >= {"AAPL", "SPY"}
    assert weekend == []
    assert status.market == "open" and status.server_time.startswith(SESSION.isoformat())
    assert snapshot.ticker == "AAPL" and snapshot.prev_day.close == next(g.close for g in grouped if g.ticker == "AAPL")
    assert len(contracts) > 1000 and contracts[0].underlying_ticker == "AAPL"


def test_vendor_websocket_client_reads_the_handshake_and_events(frozen_sim):
    # given the vendor client in raw mode, on the simulator's host:port without TLS
    host = urlsplit(frozen_sim.rest_url).netloc
    raw = massive.WebSocketClient(
        api_key=KEY, feed=host, market="stocks", raw=True, secure=False, subscriptions=["A.TSLA"]
    )
    parsed = massive.WebSocketClient(api_key=KEY, feed=host, market="stocks", secure=False, subscriptions=["A.TSLA"])
    received: dict[str, list] = {"raw": [], "parsed": []}

    async def read(client, label):
        async def handle(message):
            received[label].append(message)
            if label == "raw" and any(e["ev"] == "A" for e in orjson.loads(message)):
                await client.close()
            if label == "parsed" and any(isinstance(e, EquityAgg) for e in message):
                await client.close()

        await client.connect(handle)

    async def scenario():
        task = asyncio.gather(read(raw, "raw"), read(parsed, "parsed"))
        # the clock is frozen: once both have subscribed, a move produces the events
        for _ in range(200):
            stats = await asyncio.to_thread(frozen_sim.stats)
            if stats.get("ws_messages_in", 0) >= 4:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(frozen_sim.inject_move, "TSLA", 1.0)
        await asyncio.wait_for(task, 10)

    # when
    asyncio.run(scenario())
    # then
    raw_events = [e for message in received["raw"] for e in orjson.loads(message)]
    assert {"ev": "status", "status": "success", "message": "subscribed to: A.TSLA"} in raw_events
    agg = next(e for e in raw_events if e["ev"] == "A")
    model = next(e for batch in received["parsed"] for e in batch if isinstance(e, EquityAgg))
    assert agg["sym"] == model.symbol == "TSLA" and model.close == agg["c"] and model.end_timestamp == agg["e"]
