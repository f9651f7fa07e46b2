"""``manage.py scan TICKER --store``: the service's own manual scan, stored and routed, from a shell."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerts.models import Message
from scanner.models import Scan, Signal, Ticker
from testing.factories import user

pytestmark = pytest.mark.django_db
HOT = "HOTFF"


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    """The simulated market on loopback, with a name whose 30-60 FF is about 0.4."""
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, session_date=date(2026, 11, 30)).start()
    server.add_ticker(HOT, price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def test_store_keeps_the_scan_and_alerts_the_follower(sim, redis_client):
    # given a follower of the name with loose floors, and Celery on a real broker
    user(
        "follower@x.test",
        follows=(HOT,),
        ff_threshold=0.2,
        pairs=["30-60"],
        double_calendar=False,
        min_open_interest=0,
        min_volume=0,
        max_spread_pct=100.0,
        earnings_policy="ignore",  # the name's rich front month is its earnings event: judge the raw FF
    )
    out = StringIO()
    # when an operator scans it with --store (lower case, as typed)
    call_command("scan", HOT.lower(), "--store", stdout=out)
    # then a manual Scan is stored with its signals and alert, the alert's sending is queued as after
    # any scan, and the outcome is printed
    scan = Scan.objects.get()
    assert (scan.ticker, scan.reason, scan.outcome) == (HOT, Scan.Reason.MANUAL, Scan.Outcome.OK)
    signals = Signal.objects.filter(scan=scan).count()
    assert Message.objects.get().status == Message.Status.PENDING
    assert redis_client.llen("notify") == 1
    assert out.getvalue().strip() == (
        f"{HOT}: ok, scan {scan.pk}, {signals} signal(s), 1 alert(s) created, {scan.requests} request(s)"
    )
    assert Ticker.objects.get(symbol=HOT).has_options is True


def test_store_of_an_unlisted_name_records_it(sim):
    out = StringIO()
    # when an operator scans a name the market does not know
    call_command("scan", "NOSUCH", "--store", stdout=out)
    # then the scan is stored without data, and the ticker is known to have no options listed
    scan = Scan.objects.get()
    assert scan.outcome == Scan.Outcome.NO_DATA
    assert out.getvalue().startswith(f"NOSUCH: no_data, scan {scan.pk}, 0 signal(s)")
    assert Ticker.objects.get(symbol="NOSUCH").has_options is False


def test_store_refuses_options_that_only_make_sense_without_it(db):
    with pytest.raises(CommandError, match="--store scans the live chain as the service does; drop --json"):
        call_command("scan", "AAPL", "--store", "--json")


def test_without_store_nothing_is_stored(sim):
    out = StringIO()
    call_command("scan", HOT, stdout=out)
    assert out.getvalue().startswith(f"{HOT} @ ")
    assert not Scan.objects.exists()
