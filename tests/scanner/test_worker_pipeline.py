"""The scan pipeline through real workers on Redis and PostgreSQL, against the simulated market and a
real SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from alerts.models import Alert, Message
from market.clock import set_clock_source
from scanner.models import Scan, Signal
from scanner.scanning import dropped_scans, single_flight
from scanner.tasks import scan_ticker
from testing.factories import user
from testing.polling import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
HOT = "HOTFF"
SESSION = date(2026, 11, 30)  # a Monday: the simulated market's session is pinned, not today's


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    """The simulated market on loopback, used by this process and by worker subprocesses."""
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, speed=1.0, session_date=SESSION).start()
    # A name whose front month carries an event: its 30-60 FF is about 0.4.
    server.add_ticker(HOT, price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def one_alert_follower(ticker: str = HOT):
    """A follower who can get exactly one alert from a scan: one pair, one structure, loose floors."""
    return user(
        "follower@x.test",
        follows=(ticker,),
        ff_threshold=0.2,
        pairs=["30-60"],
        double_calendar=False,
        min_open_interest=0,
        min_volume=0,
        max_spread_pct=100.0,
        earnings_policy="ignore",  # the name's rich front month is its earnings event: judge the raw FF
    )


def test_a_scan_on_a_worker_stores_history_and_emails_the_follower(sim, smtp_sink, live_worker):
    # given a follower of the name
    one_alert_follower()
    # when a scan runs on the worker
    result = scan_ticker.apply_async(args=[HOT, "manual"], ignore_result=False).get(timeout=60)
    # then the scan and every evaluated signal are stored, the ticker remembers the scan
    scan = Scan.objects.get(pk=result["scan_id"])
    assert scan.outcome == Scan.Outcome.OK and scan.requests > 0 and scan.contracts > 0
    assert Signal.objects.filter(scan=scan).count() == result["signals"] >= 2
    from scanner.models import Ticker

    assert Ticker.objects.get(symbol=HOT).last_scan_price == pytest.approx(scan.underlying_price)
    # and the one alert reaches the SMTP server once
    assert smtp_sink.wait_for(1)
    wait_for(lambda: Message.objects.filter(status=Message.Status.SENT).count() == 1, what="the message marked sent")
    assert smtp_sink.messages[0].rcpt_tos == ["follower@x.test"]


def all_setups_follower(ticker: str = HOT):
    """A follower whom every pair and structure with an FF reaches: no threshold to speak of, loose floors."""
    return user(
        "follower@x.test",
        follows=(ticker,),
        ff_threshold=-10.0,
        min_open_interest=0,
        min_volume=0,
        max_spread_pct=100.0,
        earnings_policy="ignore",  # the name's rich front month is its earnings event: judge the raw FF
    )


def listed_setups(text: str) -> list[str]:
    """The numbered setups of an email's text part, as "pair structure"."""
    return [line.split(" (")[0].split(". ", 1)[1] for line in text.splitlines() if line[:1].isdigit() and ". " in line]


def test_a_scan_passing_many_setups_sends_one_email_listing_them_and_a_rerun_sends_nothing(sim, smtp_sink, live_worker):
    # given a follower whom every setup of the name reaches
    all_setups_follower()
    # when a scan runs on the worker
    first = scan_ticker.apply_async(args=[HOT, "manual"], ignore_result=False)
    first.get(timeout=60)
    # then its five or more setups reach the SMTP server as one email, strongest first
    alerts = list(Alert.objects.order_by("-ff", "pk"))
    assert len(alerts) >= 5 and len({a.message_id for a in alerts}) == 1
    assert smtp_sink.wait_for(1)
    wait_for(lambda: Message.objects.filter(status=Message.Status.SENT).count() == 1, what="the message marked sent")
    text = smtp_sink.messages[0].message().get_body(("plain",)).get_content()
    labels = {"atm_call_calendar": "ATM call calendar", "double_calendar": "double calendar"}
    assert listed_setups(text) == [f"{a.pair} {labels[a.structure]}" for a in alerts]
    # when the scan task is delivered again, and the name is scanned again at once
    scan_ticker.apply_async(args=[HOT, "manual"], task_id=first.id, ignore_result=False).get(timeout=60)
    scan_ticker.apply_async(args=[HOT, "manual"], ignore_result=False).get(timeout=60)
    # then no message is created and nothing more is sent
    assert Message.objects.count() == 1 and Alert.objects.count() == len(alerts)
    assert not Message.objects.exclude(status=Message.Status.SENT).exists()
    assert smtp_sink.accepted == 1


def test_a_request_for_a_ticker_being_scanned_is_deferred_to_the_live_scan_and_counted(sim, settings):
    # given a scan of the name in progress (its lock held by another request that has only just started)
    with single_flight(HOT, "someone-else") as held:
        assert held
        # when another request for it arrives
        report = scan_ticker.apply(args=[HOT, "manual"]).get()
    # then it did nothing but count itself, and its result names the scan it deferred to
    assert report["outcome"] == "deferred"
    assert report["deferred_to"] == "someone-else"
    assert dropped_scans()[HOT] == 1
    assert not Scan.objects.exists()


def test_automatic_scans_wait_for_the_session_but_manual_ones_run(sim):
    from datetime import timedelta

    # given the data source's clock on the Saturday after the simulated session
    now = sim.now()
    saturday = now + timedelta(days=(5 - now.weekday()) % 7 or 7)
    set_clock_source(lambda: saturday)
    # when / then
    assert scan_ticker.apply(args=[HOT, "move"]).get()["outcome"] == "skipped"
    assert scan_ticker.apply(args=[HOT, "manual"]).get()["outcome"] == "ok"


def test_a_heartbeat_scan_moves_the_stream_reference_to_its_price(sim):
    from forwardfactor.shared_state import shared_redis
    from scanner.stream.references import ReferenceStore

    # given the stream's reference for the name is an old price
    references = ReferenceStore(shared_redis())
    references.save({HOT: 1.0})
    # when a heartbeat scan runs
    result = scan_ticker.apply(args=[HOT, "heartbeat"]).get()
    # then the next move is measured from the scan's underlying price
    scan = Scan.objects.get(pk=result["scan_id"])
    assert scan.outcome == Scan.Outcome.OK and scan.underlying_price > 1.0
    assert references.load([HOT]) == {HOT: pytest.approx(scan.underlying_price)}


def test_a_scan_announces_its_volatility_and_request_count_to_the_stream(sim):
    import orjson

    from forwardfactor.shared_state import shared_redis
    from scanner.stream.references import REFERENCES_CHANNEL
    from scanner.stream.rule import atm_volatility

    # given someone listening on the stream's scan channel
    pubsub = shared_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(REFERENCES_CHANNEL)
    # when a scan runs
    result = scan_ticker.apply(args=[HOT, "manual"]).get()
    # then its announcement carries the trigger rule's inputs: its ATM volatility and its requests
    scan = Scan.objects.get(pk=result["scan_id"])
    message = wait_for(lambda: pubsub.get_message(timeout=0.2), what="the scan's announcement")
    body = orjson.loads(message["data"])
    pubsub.close()
    assert body["symbol"] == HOT and body["requests"] == scan.requests > 0
    assert body["vol"] == atm_volatility(scan.term_structure) > 0


def test_a_scan_without_data_leaves_the_stream_reference_alone(sim):
    from forwardfactor.shared_state import shared_redis
    from scanner.stream.references import ReferenceStore

    # given a reference for a name the market does not know
    references = ReferenceStore(shared_redis())
    references.save({"NOSUCH": 42.0})
    # when its scan finds no data
    result = scan_ticker.apply(args=["NOSUCH", "manual"]).get()
    # then the reference is unchanged
    assert result["outcome"] != Scan.Outcome.OK
    assert references.load(["NOSUCH"]) == {"NOSUCH": 42.0}


def test_a_429_storm_ends_in_success_after_retries(sim, smtp_sink, live_worker):
    # given a follower and a market answering the next 12 requests with 429 (Retry-After 1 s)
    one_alert_follower()
    sim.set_faults(rate_limit=12, retry_after=1)
    # when a scan is requested
    result = scan_ticker.apply_async(args=[HOT, "manual"], ignore_result=False)
    # then the task retried until the storm passed, and succeeded once
    outcome = result.get(timeout=120)
    assert outcome["outcome"] == "ok"
    assert sim.stats()["fault:rate_limit"] == 12
    scan = Scan.objects.get(task_id=result.id)
    assert scan.outcome == Scan.Outcome.OK and scan.attempts > 1
    assert smtp_sink.wait_for(1) and Alert.objects.count() == Message.objects.count() == 1


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(name: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "forwardfactor",
            "worker",
            "-P",
            "solo",
            "-Q",
            "scan,notify",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _worker_env(sim, smtp_sink, redis_url: str, site_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "POLYGON_API_KEY": "",
        "POLYGON_REST_URL": sim.rest_url,
        "POLYGON_MAX_RPS": "50",
        "EMAIL_BACKEND": "",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "SITE_URL": site_url,
        "LOG_LEVEL": "WARNING",
    }


def _stop(*processes: subprocess.Popen | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_worker_killed_mid_scan_has_the_scan_redelivered_and_completed_once(sim, smtp_sink, redis_url, settings):
    # given a follower, a slow market (each REST answer takes 1.5 s) and a worker subprocess
    one_alert_follower()
    sim.set_faults(latency_ms=1500)
    env = _worker_env(sim, smtp_sink, redis_url, settings.SITE_URL)
    first = _worker("doomed", env)
    replacement = None
    try:
        # when the scan is in the middle of fetching the chain
        result = scan_ticker.apply_async(args=[HOT, "manual"], ignore_result=False)
        wait_for(
            lambda: Scan.objects.filter(task_id=result.id, outcome=Scan.Outcome.RUNNING).exists(),
            what="the scan to start",
        )
        wait_for(lambda: sim.stats().get("rest:options_chain", 0) >= 1, what="the chain fetch to begin")
        # and its worker is killed
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert Scan.objects.get(task_id=result.id).outcome == Scan.Outcome.RUNNING
        sim.set_faults(latency_ms=0)
        replacement = _worker("replacement", env)
        # then Redis redelivers it to another worker, which completes the same scan and sends one alert
        assert result.get(timeout=90)["outcome"] == "ok"
        scan = Scan.objects.get(task_id=result.id)
        assert scan.outcome == Scan.Outcome.OK and scan.attempts == 2
        assert Scan.objects.count() == 1
        assert smtp_sink.wait_for(1)
        wait_for(
            lambda: Message.objects.filter(status=Message.Status.SENT).count() == 1, what="the message marked sent"
        )
        assert Counter(m.rcpt_tos[0] for m in smtp_sink.messages) == {"follower@x.test": 1}
    finally:
        _stop(first, replacement)


def test_a_worker_killed_mid_send_has_the_message_redelivered_and_sent_once(sim, smtp_sink, redis_url, settings):
    # given a follower of many setups, an SMTP server that keeps the next recipient waiting, and a worker
    all_setups_follower()
    smtp_sink.stall_next_rcpt(1, seconds=30)
    env = _worker_env(sim, smtp_sink, redis_url, settings.SITE_URL)
    first = _worker("doomed", env)
    replacement = None
    try:
        # when the scan's message is in the middle of its SMTP conversation
        scan_ticker.apply_async(args=[HOT, "manual"])
        wait_for(lambda: smtp_sink.rcpts_seen >= 1, 60, "the send to reach the SMTP server")
        (message,) = Message.objects.all()
        assert message.status == Message.Status.SENDING and message.alerts.count() >= 5
        # and its worker is killed
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        replacement = _worker("replacement", env)
        # then Redis redelivers the send task, whose claim still holds the message: it goes out once
        wait_for(lambda: Message.objects.filter(status=Message.Status.SENT).count() == 1, 90, "the message marked sent")
        sent = Message.objects.get()
        assert sent.claimed_by == message.claimed_by and sent.attempts == 1
        assert smtp_sink.accepted == 1
        assert Counter(m.rcpt_tos[0] for m in smtp_sink.messages) == {"follower@x.test": 1}
        assert sent.message_id == smtp_sink.messages[0].message()["Message-ID"]
    finally:
        _stop(first, replacement)
