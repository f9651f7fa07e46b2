"""The operator's scanner admin: records read-only, figures rounded to what they mean, New York time,
strongest signals first, legs as a table, and "Scan now"."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from accounts.models import Subscription, User
from scanner.models import Scan, Signal, Ticker
from testing.factories import saved_signals, signal_dict

pytestmark = pytest.mark.django_db
HOT = "HOTFF"


def test_scans_and_signals_are_viewable_but_not_added_or_edited(admin_client):
    # given a stored scan and signal
    (signal,) = saved_signals(signal_dict())
    for model, pk in (("scan", signal.scan_id), ("signal", signal.pk)):
        change = reverse(f"admin:scanner_{model}_change", args=[pk])
        # when an operator opens it, tries to add one and tries to save it
        page = admin_client.get(change)
        add = admin_client.get(reverse(f"admin:scanner_{model}_add"))
        edit = admin_client.post(change, {"ticker": "EVIL"})
        # then it is shown without a save button; adding and editing are refused
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        assert add.status_code == 403 and edit.status_code == 403
    assert Signal.objects.get().ticker == "AAPL"


def test_scan_figures_are_rounded_and_times_are_new_york(admin_client):
    # given a scan started at 16:00:05 UTC on a winter day (11:00:05 in New York)
    Scan.objects.create(
        ticker="AAPL",
        reason=Scan.Reason.MANUAL,
        outcome=Scan.Outcome.OK,
        started_at=datetime(2025, 3, 4, 16, 0, 5, tzinfo=UTC),
        fetch_ms=123.4567,
        compute_ms=8.5001,
        underlying_price=101.23456,
    )
    # when an operator lists the scans
    page = admin_client.get(reverse("admin:scanner_scan_changelist")).content.decode()
    # then milliseconds are whole, the price has cents, the time is New York's
    assert ">123<" in page and ">9<" in page and ">101.23<" in page
    assert "2025-03-04 11:00:05 EST" in page
    assert "123.4567" not in page


def test_signals_are_listed_liquid_and_strongest_first(admin_client):
    # given signals of mixed strength and liquidity, one without an FF
    weak, strong, illiquid, blank = (
        signal_dict(pair="30-60", ff=0.21234),
        signal_dict(pair="30-90", ff=0.55555),
        {**signal_dict(pair="60-90", ff=0.9), "passes_liquidity": False},
        signal_dict(pair="60-120", ff=None),
    )
    scan = saved_signals(weak, blank, illiquid, strong)[0].scan
    expected = ["30-90", "30-60", "60-120", "60-90"]
    # when an operator lists the signals, and opens their scan
    listing = admin_client.get(reverse("admin:scanner_signal_changelist")).content.decode()
    inline = admin_client.get(reverse("admin:scanner_scan_change", args=[scan.pk])).content.decode()
    # then both show liquid before illiquid, by FF, FF-less last; FF to 3 decimals
    for page in (listing, inline):
        positions = [page.index(f">{pair}<") for pair in expected]
        assert positions == sorted(positions)
        assert ">0.556<" in page and ">0.212<" in page


def test_a_signals_legs_are_a_table_with_its_values_escaped(admin_client):
    # given a signal whose leg carries markup
    data = signal_dict()
    data["legs"][0]["leg"] = "<script>alert(1)</script>"
    (signal,) = saved_signals(data)
    # when an operator opens it
    page = admin_client.get(reverse("admin:scanner_signal_change", args=[signal.pk])).content.decode()
    # then the legs are table rows with prices in cents, and the markup is text
    assert "<th>strike</th>" in page and "<td>2.95</td>" in page and "<td>front_call</td>" not in page
    assert "<td>back_call</td>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert '"legs":' not in page  # not the raw JSON


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    """The simulated market on loopback, with a name whose front month is rich."""
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=7, session_date=date(2026, 11, 30)).start()
    server.add_ticker(HOT, price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def scan_now(client, changelist: str, pks) -> str:
    response = client.post(reverse(changelist), {"action": "scan_now", "_selected_action": pks}, follow=True)
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def test_scan_now_on_tickers_scans_them_in_process_on_embedded_defaults(admin_client, sim, eager_celery):
    # given a ticker the market lists and one it does not
    listed = Ticker.objects.create(symbol=HOT)
    unlisted = Ticker.objects.create(symbol="NOSUCH")
    # when an operator scans both now
    message = scan_now(admin_client, "admin:scanner_ticker_changelist", [listed.pk, unlisted.pk])
    # then both were scanned in the request, and each ticker knows whether options are listed
    assert message == "Scanned 2 ticker(s)."
    assert set(Scan.objects.values_list("ticker", "reason")) == {(HOT, "manual"), ("NOSUCH", "manual")}
    assert Scan.objects.get(ticker=HOT).outcome == Scan.Outcome.OK
    assert dict(Ticker.objects.values_list("symbol", "has_options")) == {HOT: True, "NOSUCH": False}
    listing = admin_client.get(reverse("admin:scanner_ticker_changelist")).content.decode()
    assert ">no options listed<" in listing and ">listed<" in listing


def test_scan_now_on_subscriptions_scans_each_ticker_once(admin_client, sim, eager_celery):
    # given two users following the same name
    rows = [
        Subscription.objects.create(user=User.objects.create_user(f"{name}@x.test"), ticker=HOT).pk
        for name in ("ann", "bob")
    ]
    # when an operator selects both subscriptions and scans now
    message = scan_now(admin_client, "admin:accounts_subscription_changelist", rows)
    # then the name was scanned once, in the request
    assert message == "Scanned 1 ticker(s)."
    assert Scan.objects.filter(ticker=HOT, reason=Scan.Reason.MANUAL).count() == 1


def test_scan_now_with_a_broker_only_queues(admin_client, redis_client, settings):
    from forwardfactor.celery import app

    # given Celery on a real broker (Redis) and two subscriptions to the same name and one to another
    assert not app.conf.task_always_eager, "REDIS_URL must be set when settings load"
    user = User.objects.create_user("ann@x.test")
    rows = [Subscription.objects.create(user=user, ticker=t).pk for t in ("AAPL", "MSFT")]
    ticker = Ticker.objects.create(symbol="AAPL")
    # when an operator scans them now from the subscriptions and from the tickers
    from_subscriptions = scan_now(admin_client, "admin:accounts_subscription_changelist", rows)
    from_tickers = scan_now(admin_client, "admin:scanner_ticker_changelist", [ticker.pk])
    # then three scans wait on the scan queue and nothing ran in the request
    assert (from_subscriptions, from_tickers) == ("Queued 2 scan(s).", "Queued 1 scan(s).")
    assert redis_client.llen("scan") == 3
    assert not Scan.objects.exists()
