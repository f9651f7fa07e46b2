"""The event-driven path end to end on real services: a price move on the simulated market's stream ->
stream consumer -> Redis -> real Celery worker -> Scan and Signals -> alert -> email on a local SMTP server."""

from __future__ import annotations

import pytest

from testing.polling import wait_for
from testing.smtp_sink import SmtpSink
from tests.stream.conftest import SESSION, subscribed

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bumped_market(settings, shared_state_reset):
    """A simulated market in session with FAKE1, whose chain carries an event bump (FF about 0.5)."""
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=6, speed=1.0, session_date=SESSION)
    server.add_ticker("FAKE1", price=110.0, volume=50_000_000, has_options=True, ff_bump=0.5)
    server.start()
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="200"):
        yield server
    server.stop()


@pytest.fixture
def smtp_sink(settings):
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    sink.stop()


def test_a_price_move_ends_as_an_email_to_the_subscriber(bumped_market, smtp_sink, live_worker, start_stream):
    # given a user following FAKE1 and the stream consumer running with the real dispatch to Celery
    from accounts.addresses import mark_address_verified
    from accounts.models import AlertSettings, Subscription, User
    from scanner.models import Scan, Signal

    follower = User.objects.create_user("follower@example.com", "pw-Secret-42")
    mark_address_verified(follower)  # alerts go only to verified addresses
    # FAKE1's rich front month is its earnings event: judge the raw FF
    AlertSettings.objects.filter(user=follower).update(earnings_policy="ignore")
    Subscription.objects.create(user=follower, ticker="FAKE1")
    running = start_stream(bumped_market.ws_url, record=False, market_clock_ms=None)
    wait_for(lambda: "FAKE1" in subscribed(bumped_market), what="FAKE1 on the socket")
    wait_for(lambda: running.consumer.trigger.reference("FAKE1"), what="a reference price for FAKE1")
    assert not Scan.objects.filter(ticker="FAKE1").exists()
    # when FAKE1 jumps 1% on the stream
    bumped_market.inject_move("FAKE1", 1.0)
    # then a move scan runs on the worker, stores signals, and the follower gets an email about FAKE1
    wait_for(lambda: smtp_sink.accepted >= 1, timeout=60, what="the alert email")
    scan = Scan.objects.get(ticker="FAKE1")
    assert scan.reason == Scan.Reason.MOVE and scan.outcome == Scan.Outcome.OK
    assert Signal.objects.filter(scan=scan).exists()
    message = smtp_sink.messages[0]
    assert message.rcpt_tos == ["follower@example.com"]
    assert "FAKE1" in str(message.message()["Subject"])
    assert running.consumer.stats.enqueued == 1
