"""The discovery path end to end on real services: simulated market -> universe -> sweep through a real
worker on Redis and PostgreSQL -> scans -> routing -> alerts -> .eml files."""

import email
from datetime import date
from email import policy
from pathlib import Path

import pytest

from accounts.addresses import mark_address_verified
from accounts.models import AlertSettings, Subscription, User
from alerts.models import Alert, Message
from discovery.models import UniverseSnapshot
from discovery.universe import refresh_universe
from scanner.models import Scan, Ticker
from testing.polling import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BIG_VOLUME = 900_000_000  # about $100B a day: FAKE1 and FAKE2 outrank every simulated name
# Pinned: past daily volumes are drawn per session date; on some (2027-03-18) SPY outranks FAKE1.
SESSION = date(2026, 11, 30)


@pytest.fixture
def simulated_market(settings, shared_state_reset, tmp_path):
    """A simulated market in session with FAKE1 and FAKE2 (event bumps: FF about 0.5) and NOOPT, the most
    traded listed name, without options; OTCBIG trades even more, over the counter."""
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    server = MarketSimServer(seed=6, speed=1.0, session_date=SESSION)
    server.add_ticker("FAKE1", price=110.0, volume=BIG_VOLUME, has_options=True, ff_bump=0.5)
    server.add_ticker("FAKE2", price=95.0, volume=BIG_VOLUME - 1, has_options=True, ff_bump=0.5)
    server.add_ticker("NOOPT", price=200.0, volume=BIG_VOLUME * 2, has_options=False)
    server.add_ticker("OTCBIG", price=300.0, volume=BIG_VOLUME * 3, has_options=True, otc=True)
    server.start()
    with using_market(
        server.rest_url,
        POLYGON_MAX_RPS="200",
        EMAIL_BACKEND="alerts.emails.EmlFileBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    ):
        yield server
    server.stop()


def user(email_address: str, discovery: bool, follows: tuple[str, ...] = (), discovery_cap: int = 5) -> User:
    created = User.objects.create_user(email_address, "pw-Secret-42", discovery_mode=discovery)
    mark_address_verified(created)  # alerts go only to verified addresses
    # FAKE1's and FAKE2's rich front months are their earnings events: judge the raw FF
    AlertSettings.objects.filter(user=created).update(discovery_daily_cap=discovery_cap, earnings_policy="ignore")
    for ticker in follows:
        Subscription.objects.create(user=created, ticker=ticker)
    return created


def sweep_and_settle(tickers: set[str]) -> None:
    """Run one sweep through the worker; wait until the tickers' scans finished and no alert is unsent."""
    from discovery.tasks import discovery_sweep

    summary = discovery_sweep.apply_async().get(timeout=30)
    assert summary["enqueued"] >= len(tickers), summary
    done = Scan.objects.filter(ticker__in=tickers, reason=Scan.Reason.DISCOVERY).exclude(outcome=Scan.Outcome.RUNNING)
    wait_for(lambda: set(done.values_list("ticker", flat=True)) == tickers, 60, f"discovery scans of {sorted(tickers)}")
    unsent = Message.objects.exclude(status__in=[Message.Status.SENT, Message.Status.FAILED, Message.Status.CANCELLED])
    wait_for(lambda: not unsent.exists(), 30, "every message to be sent")


def mailbox(directory: Path) -> dict[str, list[str]]:
    """Recipient -> subjects of the .eml files written."""
    boxes: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        boxes.setdefault(str(message["To"]), []).append(str(message["Subject"]))
    return boxes


def test_discovery_user_hears_of_fake1_the_others_only_of_what_they_follow(simulated_market, live_worker, settings):
    # given a universe of the two most traded optionable names, FAKE1 and FAKE2, and three users
    outcome = refresh_universe(size=2)
    assert {m.ticker for m in outcome.members} == {"FAKE1", "FAKE2"}
    explorer = user("explorer@example.com", discovery=True, discovery_cap=20)
    follower = user("follower@example.com", discovery=False, follows=("FAKE2",))
    user("nobody@example.com", discovery=False)
    # when a discovery sweep runs through the worker (no one subscribes to FAKE1)
    sweep_and_settle({"FAKE1", "FAKE2"})
    # then the explorer got FAKE1 as a discovery alert, by email
    alerts = Alert.objects.filter(message__status=Message.Status.SENT)
    assert alerts.filter(user=explorer, ticker="FAKE1", kind=Alert.Kind.DISCOVERY).exists()
    assert not alerts.filter(user=explorer, kind=Alert.Kind.SUBSCRIPTION).exists()
    # and the follower got FAKE2 as a subscription alert and nothing of FAKE1
    assert set(alerts.filter(user=follower).values_list("ticker", "kind")) == {("FAKE2", Alert.Kind.SUBSCRIPTION)}
    # and nobody got nothing
    assert not Alert.objects.filter(user__email="nobody@example.com").exists()
    boxes = mailbox(Path(settings.EMAIL_FILE_PATH))
    assert any("FAKE1" in subject for subject in boxes["explorer@example.com"])
    assert boxes.get("follower@example.com") and all("FAKE1" not in s for s in boxes["follower@example.com"])
    assert "nobody@example.com" not in boxes


def test_the_discovery_daily_cap_holds_across_a_sweep(simulated_market, live_worker):
    # given a universe of the two bumped names and a discovery user capped at 1 discovery message a day
    refresh_universe(size=2)
    explorer = user("explorer@example.com", discovery=True, discovery_cap=1)
    # when a sweep scans both names in parallel (each has several pairs and structures above 0.30)
    sweep_and_settle({"FAKE1", "FAKE2"})
    # then the user received exactly the cap: one message, carrying one name's setups
    assert Message.objects.filter(user=explorer, kind=Message.Kind.DISCOVERY).count() == 1
    assert Alert.objects.filter(user=explorer).values("ticker").distinct().count() == 1


def test_high_volume_names_without_options_or_over_the_counter_are_left_out(simulated_market):
    # given the most traded listed name, NOOPT, has no listed options and OTCBIG trades over the counter
    # when the universe is refreshed against the simulated market
    outcome = refresh_universe(size=3)
    # then NOOPT was checked and skipped, OTCBIG never came up, and the members are the next names
    assert "NOOPT" in outcome.without_options
    members = [m.ticker for m in outcome.members]
    assert set(members[:2]) == {"FAKE1", "FAKE2"} and "NOOPT" not in members and "OTCBIG" not in members
    assert UniverseSnapshot.objects.get().members.count() == 3


def test_the_discovery_cap_holds_when_two_scans_alert_the_same_user_at_once(postgres, simulated_market, monkeypatch):
    # given a universe of FAKE1 and FAKE2 and a discovery user capped at one discovery message a day
    import threading

    from django.db import connection

    from alerts import outbox
    from scanner import scanning

    refresh_universe(size=2)
    explorer = user("explorer@example.com", discovery=True, discovery_cap=1)
    # and two scans where the first to read the user's alerts of the day holds on until the other has
    # read them too (nothing serialises them: both see room under the cap) or waits on a lock it holds
    backends: dict[str, int] = {}
    both_connected = threading.Barrier(2, timeout=30)
    loaded: list[str] = []
    load_history = outbox.load_history

    def blocked_by_this_scan(other: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid() = ANY(pg_blocking_pids(%s))", [other])
            return cursor.fetchone()[0]

    def load_history_in_step(ticker, *args, **kwargs):
        history = load_history(ticker, *args, **kwargs)
        loaded.append(ticker)
        other = next(pid for name, pid in backends.items() if name != ticker)
        wait_for(lambda: len(loaded) == 2 or blocked_by_this_scan(other), 30, "the other scan to read or to wait")
        return history

    monkeypatch.setattr(outbox, "load_history", load_history_in_step)

    def scan(ticker: str) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends[ticker] = cursor.fetchone()[0]
            both_connected.wait()
            scanning.scan_and_alert(ticker, "discovery", dispatch=lambda ids: None)
        finally:
            connection.close()

    # when FAKE1 and FAKE2 are scanned at the same time
    threads = [threading.Thread(target=scan, args=(t,)) for t in ("FAKE1", "FAKE2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then both scans reached the user, and the user still has one discovery message for the day
    assert sorted(loaded) == ["FAKE1", "FAKE2"]
    assert Message.objects.filter(user=explorer, kind=Message.Kind.DISCOVERY).count() == 1


def test_a_refresh_asks_the_vendor_for_its_members_earnings_in_one_batch(simulated_market):
    # when the universe is refreshed
    before = simulated_market.stats().get("rest:benzinga_earnings", 0)
    outcome = refresh_universe(size=2)
    # then both members' earnings were checked in one request, so their first scans need not ask
    members = [m.ticker for m in outcome.members]
    checked = Ticker.objects.filter(symbol__in=members, earnings_checked_at__isnull=False).count()
    assert checked == len(members) == 2
    assert simulated_market.stats().get("rest:benzinga_earnings", 0) - before == 1
