"""The ticker page with the test client: charts' data, tickets, earnings, the user's own alerts,
follow/unfollow from the page, what it refuses (404, never 500), and its query count as history grows."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Subscription
from scanner.models import EarningsEvent, OptionableUnderlying, Scan, Signal, Ticker
from testing.factories import saved_signals, signal_dict, user
from tests.web.test_pages import alerts_of

pytestmark = pytest.mark.django_db

AS_OF = datetime.fromisoformat("2026-03-04T15:30:00+00:00")
PAIRS = ("30-60", "30-90", "60-90")
TERM = [
    {"expiry": "2026-03-20", "dte": 16, "atm_iv": 0.52, "source": "chain"},
    {"expiry": "2026-04-03", "dte": 30, "atm_iv": 0.45, "source": "chain"},
    {"expiry": "2026-05-03", "dte": 60, "atm_iv": 0.35, "source": "chain"},
    {"expiry": "2026-06-02", "dte": 90, "atm_iv": 0.33, "source": "probe"},
]


def scan_of(ticker: str, as_of: datetime, ff: float = 0.3) -> Scan:
    """A completed scan of every pair and structure (six signals), with its term structure."""
    signals = [
        signal_dict(ticker, structure=structure, pair=pair, ff=ff + i / 100, as_of=as_of)
        for i, pair in enumerate(PAIRS)
        for structure in ("atm_call_calendar", "double_calendar")
    ]
    (first, *_) = saved_signals(*signals)
    Scan.objects.filter(pk=first.scan_id).update(as_of=as_of, finished_at=as_of, term_structure=TERM)
    return Scan.objects.get(pk=first.scan_id)


def history(ticker: str, days: int, per_day: int = 4) -> None:
    for day in range(days):
        for n in range(per_day):
            scan_of(ticker, AS_OF - timedelta(days=days - day, hours=n), ff=0.2 + (day % 5) / 20)


def chart(response, name: str) -> dict:
    return response.context["page"].__getattribute__(name)


def test_ticker_page_shows_the_term_structure_forward_vols_history_threshold_and_tickets(trader_client, trader):
    # given two earlier scans and the last one
    trader.alert_settings.ff_threshold = 0.27
    trader.alert_settings.save()
    scan_of("AAPL", AS_OF - timedelta(days=2), ff=0.1)
    scan_of("AAPL", AS_OF - timedelta(days=1), ff=0.2)
    scan_of("AAPL", AS_OF, ff=0.3)
    # when the trader opens its page
    response = trader_client.get("/tickers/AAPL/")
    # then the term structure is the last scan's, with a forward vol per pair between its expiries
    assert response.status_code == 200
    page = response.context["page"]
    assert [p["dte"] for p in page.term_chart["points"]] == [16, 30, 60, 90]
    assert page.term_chart["points"][-1]["source"] == "probe"
    forwards = page.term_chart["forwards"]
    assert [(f["pair"], f["front_dte"], f["back_dte"]) for f in forwards] == [
        ("30-60", 30, 60),
        ("30-90", 30, 90),
        ("60-90", 60, 90),
    ]
    assert forwards[0]["forward_iv"] == pytest.approx(0.2061)
    # and the FF history has one series per pair and structure, three scans each, oldest first, with the threshold
    history_chart = page.history_chart
    assert history_chart["threshold"] == 0.27
    assert len(history_chart["series"]) == 6
    first = history_chart["series"][0]
    assert (first["pair"], first["structure"]) == ("30-60", "atm_call_calendar")
    assert [ff for _, ff in first["points"]] == pytest.approx([0.1, 0.2, 0.3])
    assert first["points"][-1][0] == int(AS_OF.timestamp())
    # and both reach the page as JSON for the chart script (no inline code)
    html = response.content.decode()
    assert '<script id="term-data" type="application/json">' in html
    assert '<script id="history-data" type="application/json">' in html
    assert "web/vendor/uplot/uPlot.iife.min.js" in html and "web/ticker_charts.js" in html
    # and the current order tickets are the last scan's six signals
    assert len(page.current) == 6
    assert "Sell 1 AAPL 3 Apr 26 100 C / Buy 1 AAPL 3 May 26 100 C" in html
    assert "debit ≈ $1.25 a share ($125 a spread) · limit $1.2" in html


def test_ticker_page_parses_its_embedded_chart_data(trader_client):
    scan_of("AAPL", AS_OF)
    html = trader_client.get("/tickers/AAPL/").content.decode()
    embedded = html.split('<script id="history-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(embedded)["series"][0]["label"] == "30-60 ATM call calendar"


def test_history_keeps_the_last_ninety_days_before_the_last_scan(trader_client):
    scan_of("AAPL", AS_OF - timedelta(days=120))
    scan_of("AAPL", AS_OF - timedelta(days=80))
    scan_of("AAPL", AS_OF)
    page = trader_client.get("/tickers/AAPL/").context["page"]
    assert all(len(s["points"]) == 2 for s in page.history_chart["series"])


def test_a_scan_with_no_pair_says_why_and_the_charts_come_from_the_last_evaluated_scan(trader_client):
    # given an evaluated scan, then one whose expiries fit no pair
    scan_of("AAPL", AS_OF)
    Scan.objects.create(
        ticker="AAPL",
        reason=Scan.Reason.HEARTBEAT,
        outcome=Scan.Outcome.NO_PAIR,
        started_at=AS_OF + timedelta(hours=1),
        finished_at=AS_OF + timedelta(hours=1),
        as_of=AS_OF + timedelta(hours=1),
        notes="no listed expiry pair within tolerance of 30-60 (listed: 2026-03-20)",
    )
    response = trader_client.get("/tickers/AAPL/")
    html = response.content.decode()
    assert "The last scan evaluated no pair:" in html
    assert "no listed expiries fit any of the scanned DTE pairs" in html
    assert "no listed expiry pair within tolerance of 30-60" in html
    assert len(response.context["page"].current) == 6


def test_a_scan_without_data_says_why_and_no_chart_is_drawn_without_any_evaluated_scan(trader_client):
    Ticker.objects.create(symbol="ZZZ")
    Scan.objects.create(
        ticker="ZZZ",
        reason=Scan.Reason.MANUAL,
        outcome=Scan.Outcome.NO_DATA,
        started_at=AS_OF,
        finished_at=AS_OF,
        error="the vendor does not know ZZZ",
    )
    html = trader_client.get("/tickers/ZZZ/").content.decode()
    assert "the market data held no usable quotes for it" in html
    assert "the vendor does not know ZZZ" in html
    assert "No term structure stored yet." in html and "No FF history stored yet." in html
    assert 'id="term-data"' not in html


def test_a_known_ticker_never_scanned_has_a_page(trader_client):
    OptionableUnderlying.objects.create(symbol="MSFT", refreshed_at=AS_OF)
    response = trader_client.get("/tickers/MSFT/")
    assert response.status_code == 200
    assert "Not scanned yet" in response.content.decode()


# --- earnings ------------------------------------------------------------------------------------


def test_earnings_ahead_of_the_last_scan_are_listed(trader_client):
    scan_of("AAPL", AS_OF)
    EarningsEvent.objects.create(ticker="AAPL", date=date(2026, 1, 29))  # before the scan's day: past
    EarningsEvent.objects.create(
        ticker="AAPL", date=date(2026, 4, 30), time_of_day=EarningsEvent.TimeOfDay.AFTER_CLOSE, status="confirmed"
    )
    page = trader_client.get("/tickers/AAPL/")
    assert [e.date for e in page.context["page"].earnings] == [date(2026, 4, 30)]
    assert "Thu 30 Apr 2026, after the close (confirmed)" in page.content.decode()


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("vendor", "No earnings date ahead: the market data lists none."),
        ("not_entitled", "Unknown: our market-data plan does not include earnings dates"),
        ("", "Unknown: earnings dates have not been checked for AAPL yet."),
    ],
)
def test_no_earnings_date_is_told_apart_from_an_unknown_one(trader_client, answer, says):
    scan_of("AAPL", AS_OF)
    Ticker.objects.create(symbol="AAPL", earnings_answer=answer)
    assert says in trader_client.get("/tickers/AAPL/").content.decode()


# --- the user's own alerts ---------------------------------------------------------------------


def test_only_the_users_own_alerts_of_this_ticker_are_shown(trader_client, trader):
    scan_of("AAPL", AS_OF)
    other = user("other@example.com")
    signal = Signal.objects.filter(ticker="AAPL").first()
    mine = alerts_of(trader, signal, 2)
    alerts_of(other, signal, 3)
    scan_of("MSFT", AS_OF)
    alerts_of(trader, Signal.objects.filter(ticker="MSFT").first(), 1)
    shown = trader_client.get("/tickers/AAPL/").context["page"].alerts
    assert sorted(a.pk for a in shown) == sorted(a.pk for a in mine)


# --- follow / unfollow from the page -----------------------------------------------------------


def test_follow_and_unfollow_from_the_ticker_page(trader_client, trader):
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at=AS_OF)
    scan_of("AAPL", AS_OF)
    assert 'action="/tickers/AAPL/follow/"' in trader_client.get("/tickers/AAPL/").content.decode()
    # when they follow it from its page
    response = trader_client.post("/tickers/AAPL/follow/", follow=True)
    # then they follow it and are back on the page, which offers to unfollow
    assert response.redirect_chain[-1][0] == "/tickers/AAPL/"
    subscription = Subscription.objects.get(user=trader, ticker="AAPL")
    html = response.content.decode()
    assert "Now following AAPL." in html
    assert f'action="/me/tickers/{subscription.pk}/unfollow/"' in html
    # when they unfollow it from the page
    response = trader_client.post(f"/me/tickers/{subscription.pk}/unfollow/", {"next": "/tickers/AAPL/"}, follow=True)
    # then they no longer follow it and are back on the page
    assert response.redirect_chain[-1][0] == "/tickers/AAPL/"
    assert not Subscription.objects.filter(user=trader).exists()
    assert "No longer following AAPL." in response.content.decode()


def test_unfollow_does_not_send_the_user_to_another_site(trader_client, trader):
    subscription = Subscription.objects.create(user=trader, ticker="AAPL")
    response = trader_client.post(f"/me/tickers/{subscription.pk}/unfollow/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/me/tickers/"


def test_following_a_name_we_do_not_know_from_its_page_is_refused_with_the_reason(trader_client, trader):
    scan_of("ODD", AS_OF)  # scanned once, but not in the optionable reference table
    response = trader_client.post("/tickers/ODD/follow/", follow=True)
    assert "not an optionable US underlying we know" in response.content.decode()
    assert not Subscription.objects.filter(user=trader).exists()


def test_follow_needs_a_post_with_csrf(trader, trader_client):
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at=AS_OF)
    assert trader_client.get("/tickers/AAPL/follow/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trader)
    assert strict.post("/tickers/AAPL/follow/").status_code == 403
    assert not Subscription.objects.exists()


# --- what the page refuses ---------------------------------------------------------------------


def test_the_page_is_for_signed_in_users(client):
    scan_of("AAPL", AS_OF)
    response = client.get("/tickers/AAPL/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_symbol_is_a_404(trader_client):
    assert trader_client.get("/tickers/NOPE/").status_code == 404


@pytest.mark.parametrize("symbol", ["aapl%21", "TOOLONGX", "1ABC", "A-B", "%00", "AAPL.BB"])
def test_a_malformed_symbol_is_a_404(trader_client, symbol):
    assert trader_client.get(f"/tickers/{symbol}/").status_code == 404


def test_a_lower_case_symbol_redirects_to_upper_case(trader_client):
    scan_of("BRK.B", AS_OF)
    response = trader_client.get("/tickers/brk.b/")
    assert response.status_code == 301 and response["Location"] == "/tickers/BRK.B/"
    assert trader_client.get(response["Location"]).status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.text(
        alphabet=st.characters(blacklist_characters="/?#", blacklist_categories=("Cs",)), min_size=1, max_size=12
    )
)
def test_any_symbol_is_a_page_a_redirect_or_a_404_never_an_error(trader_client, raw):
    from urllib.parse import quote

    response = trader_client.get(f"/tickers/{quote(raw, safe='')}/")
    assert response.status_code in (200, 301, 404)


# --- queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [2, 20])
def test_the_page_reads_a_fixed_number_of_queries_whatever_the_history(
    trader_client, trader, django_assert_max_num_queries, days
):
    OptionableUnderlying.objects.create(symbol="AAPL", refreshed_at=AS_OF)
    Subscription.objects.create(user=trader, ticker="AAPL")
    history("AAPL", days)
    alerts_of(trader, Signal.objects.filter(ticker="AAPL").first(), 5)
    EarningsEvent.objects.create(ticker="AAPL", date=date(2026, 4, 30))
    with django_assert_max_num_queries(10):
        response = trader_client.get("/tickers/AAPL/")
    assert response.status_code == 200
    assert sum(len(s["points"]) for s in response.context["page"].history_chart["series"]) == days * 4 * 6
