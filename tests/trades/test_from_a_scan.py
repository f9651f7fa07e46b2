"""The track record fed by real scans of the simulated market: trades opened and marked by the hook."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from scanner.models import Scan, Signal
from scanner.scanning import scan_and_alert
from trades import fills, rules
from trades.models import Mark, PaperTrade

pytestmark = pytest.mark.django_db

SESSION = date(2025, 6, 2)  # a Monday
HOT = "HOTFF"
AFTERNOON = datetime(2025, 6, 2, 18, 30, tzinfo=UTC)  # 14:30 New York


@pytest.fixture
def sim(settings, postgres, redis_url, shared_state_reset):
    from forwardfactor.runtime import using_market
    from marketsim.server import MarketSimServer

    # The simulated steep front is an earnings event, whose ex-earnings FF the rule rightly refuses; a plan
    # without the earnings calendar leaves it a plain FF of about 0.4. Mid-afternoon: the legs have traded.
    server = MarketSimServer(
        seed=7, session_date=SESSION, start_at=AFTERNOON, faults={"earnings_not_authorized": True}
    ).start()
    server.add_ticker(HOT, price=80.0, volume=20_000_000, ff_bump=0.4)
    with using_market(server.rest_url, clock=server.now, POLYGON_MAX_RPS="50"):
        yield server
    server.stop()


def test_a_scan_opens_the_trades_of_its_qualifying_signals_and_a_later_scan_marks_them(sim):
    # when a scan of a name with a steep front finds signals
    report = scan_and_alert(HOT)
    assert report.outcome == Scan.Outcome.OK
    signals = list(Signal.objects.filter(scan_id=report.scan_id))
    traded = [s for s in signals if not rules.rejections(s.data, 0.20)]
    assert traded, "the simulated name should give at least one qualifying signal"
    # then one trade per qualifying signal, entered from its own legs, and the scan counts no alert for them
    assert PaperTrade.objects.count() == len(traded)
    assert report.alerts == 0 == Scan.objects.get(pk=report.scan_id).alerts
    for signal in traded:
        trade = PaperTrade.objects.get(signal=signal)
        legs = signal.data["legs"]
        bought = [leg for leg in legs if leg["leg"].startswith("back")]
        sold = [leg for leg in legs if leg["leg"].startswith("front")]
        mid = sum(leg["mid"] for leg in bought) - sum(leg["mid"] for leg in sold)
        natural = sum(leg["ask"] for leg in bought) - sum(leg["bid"] for leg in sold)
        assert trade.entry_mid == pytest.approx(mid) == pytest.approx(signal.data["debit"])
        assert trade.entry_natural == pytest.approx(signal.data["debit_natural"])
        assert trade.entry_fill == pytest.approx(mid + 0.25 * (natural - mid))
        assert trade.entry_commission == pytest.approx(len(legs) * 0.65)
    # when the same name is scanned again half an hour later
    sim.clock.set(sim.now() + timedelta(minutes=30))
    again = scan_and_alert(HOT, owner="second")
    assert again.outcome == Scan.Outcome.OK
    # then every trade whose contracts that scan quoted is marked once, from its quotes
    for mark in Mark.objects.select_related("trade"):
        assert mark.scan_id == again.scan_id and mark.at > mark.trade.opened_at
        assert mark.fill == pytest.approx(fills.closing_credit(mark.legs, 0.25).fill)
    assert Mark.objects.exists()
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() == PaperTrade.objects.count()


@pytest.mark.django_db(transaction=True)
def test_scans_requested_together_on_a_real_worker_open_each_trade_once(sim, live_worker):
    from scanner.tasks import scan_ticker

    # when scans of the name are requested two at a time, in three waves, on a worker running two at once
    results = []
    for _ in range(3):
        wave = [scan_ticker.apply_async(args=[HOT, "manual"], ignore_result=False) for _ in range(2)]
        results += [request.get(timeout=120) for request in wave]
    # then each wave scanned (its second request deferred to the first, or run after it): the same
    # qualifying signals reached the trades hook at least three times
    outcomes = [result["outcome"] for result in results]
    assert outcomes.count(Scan.Outcome.OK) >= 3, outcomes
    # and every qualifying spread has exactly one paper trade
    keys = list(PaperTrade.objects.values_list("ticker", "pair", "structure", "front_expiry", "back_expiry", "strikes"))
    assert keys and len(keys) == len(set(keys))
    qualifying = {
        (s.ticker, s.pair, s.structure, s.front_expiry, s.back_expiry)
        for s in Signal.objects.filter(ticker=HOT)
        if not rules.rejections(s.data, 0.20)
    }
    assert {key[:5] for key in keys} == qualifying
