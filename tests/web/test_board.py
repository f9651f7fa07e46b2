"""The board (/signals/) with the test client: filters, sort, pages, CSV, refresh, and bad query strings."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Subscription
from scanner.models import LatestSignal, Scan, Ticker
from testing.factories import AS_OF, saved_signals, signal_dict, universe
from web.board import PER_PAGE

pytestmark = pytest.mark.django_db

PAIRS = ("30-60", "30-90", "60-90")
STRUCTURES = ("atm_call_calendar", "double_calendar")


def scanned(ticker: str, ff: float = 0.3, **figures) -> None:
    """A completed scan of ``ticker`` with a signal per pair and structure (six board rows)."""
    saved_signals(*(signal_dict(ticker, pair=p, structure=s, ff=ff, **figures) for p in PAIRS for s in STRUCTURES))


def tickers_on(response) -> list[str]:
    return [row.ticker for row in response.context["page"].object_list]


def keys_on(response) -> list[tuple[str, str, str]]:
    return [(row.ticker, row.pair, row.structure) for row in response.context["page"].object_list]


# --- who may see it ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/signals/", "/signals/export.csv?pair=30-60"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_refresh_after_signing_out_sends_the_whole_page_to_sign_in(client):
    response = client.get("/signals/table/?pair=30-60", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/?next=/signals/%3Fpair%3D30-60")


# --- what it shows ---------------------------------------------------------------------------------


def test_the_board_shows_every_column_with_the_followed_tickers_first_and_links_to_ticker_pages(trader_client, trader):
    # given three scanned tickers; the trader follows the weakest
    saved_signals(
        signal_dict(
            "AAPL",
            ff=0.5,
            ff_ex_earnings=0.31,
            earnings_dates=("2025-03-20",),
            spread_cost_pct=7.5,
            open_interest=1,
        )
    )
    LatestSignal.objects.filter(ticker="AAPL").update(passes_liquidity=False, reasons=["front_call: open interest 1"])
    saved_signals(signal_dict("MSFT", ff=0.4))
    saved_signals(signal_dict("TSLA", ff=0.2))
    Subscription.objects.create(user=trader, ticker="TSLA")
    # when
    response = trader_client.get("/signals/")
    # then
    assert response.status_code == 200
    assert tickers_on(response) == ["TSLA", "AAPL", "MSFT"]
    page = response.content.decode()
    for header in ("FF", "FF ex-earnings", "Forward IV", "Spread cost", "Liquidity", "Earnings", "Data age"):
        assert f">{header}</a>" in page
    assert 'href="/tickers/AAPL/"' in page and 'href="/tickers/TSLA/"' in page
    assert "0.31" in page and "20 Mar 25" in page and "7.5%" in page and "20.6%" in page
    assert "front_call: open interest 1" in page
    assert 'class="followed"' in page


def test_the_page_loads_htmx_from_our_static_files_and_polls_its_table_with_the_same_query(trader_client):
    scanned("AAPL")
    response = trader_client.get("/signals/?pair=30-60&liquid=on&sort=ticker")
    page = response.content.decode()
    assert "/static/web/vendor/htmx-2.0.4.min.js" in page
    assert 'hx-get="/signals/table/?pair=30-60&amp;liquid=on&amp;sort=ticker"' in page
    assert 'hx-trigger="every 30s"' in page
    # the partial is the table alone, polling again with the same query
    table = trader_client.get("/signals/table/?pair=30-60&liquid=on&sort=ticker")
    assert table.status_code == 200
    body = table.content.decode()
    assert body.lstrip().startswith('<div id="board"') and "<html" not in body
    assert 'hx-get="/signals/table/?pair=30-60&amp;liquid=on&amp;sort=ticker"' in body
    assert {row.pair for row in table.context["page"].object_list} == {"30-60"}


def test_the_board_satisfies_its_content_security_policy(trader_client):
    scanned("AAPL")
    response = trader_client.get("/signals/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert "<script>" not in page and "style=" not in page and "<style" not in page
    assert '"includeIndicatorStyles": false' in page  # htmx adds no style element of its own


def test_the_vendored_htmx_is_served_with_its_licence(client):
    assert client.get("/static/web/vendor/htmx-2.0.4.min.js").status_code == 200
    licence = client.get("/static/web/vendor/htmx-2.0.4.LICENSE.txt")
    assert licence.status_code == 200 and b"Zero-Clause BSD" in b"".join(licence.streaming_content)


def test_tickers_whose_latest_scan_found_no_pair_say_why(trader_client, trader):
    # given a ticker whose last scan found no pair, and one whose last scan was fine
    note = "no pair within tolerance: listed expiries 2025-06-20 (18 DTE), 2025-07-18 (46 DTE)"
    no_pair = Scan.objects.create(
        ticker="UQG", reason=Scan.Reason.MANUAL, outcome=Scan.Outcome.NO_PAIR, started_at=AS_OF, notes=note + "\nmore"
    )
    ok = Scan.objects.create(ticker="AAPL", reason=Scan.Reason.MANUAL, outcome=Scan.Outcome.OK, started_at=AS_OF)
    Ticker.objects.create(symbol="UQG", last_scan=no_pair)
    Ticker.objects.create(symbol="AAPL", last_scan=ok)
    # when
    page = trader_client.get("/signals/").content.decode()
    # then
    assert "No signal: no expiry pair within tolerance" in page
    assert note in page and 'href="/tickers/UQG/"' in page and "more" not in page.split(note)[1][:20]
    # and "my tickers" narrows that list too
    assert note not in trader_client.get("/signals/?mine=on").content.decode()
    Subscription.objects.create(user=trader, ticker="UQG")
    assert note in trader_client.get("/signals/?mine=on").content.decode()


# --- filters -------------------------------------------------------------------------------------


def test_filter_by_pair_structure_min_ff_and_liquidity(trader_client):
    scanned("AAPL", ff=0.5)
    scanned("MSFT", ff=0.2)
    LatestSignal.objects.filter(ticker="AAPL", pair="60-90").update(passes_liquidity=False)
    assert set(keys_on(trader_client.get("/signals/?pair=30-90&structure=double_calendar"))) == {
        ("AAPL", "30-90", "double_calendar"),
        ("MSFT", "30-90", "double_calendar"),
    }
    assert set(tickers_on(trader_client.get("/signals/?min_ff=0.3"))) == {"AAPL"}
    assert set(tickers_on(trader_client.get("/signals/?min_ff=-1"))) == {"AAPL", "MSFT"}
    liquid = keys_on(trader_client.get("/signals/?liquid=on&min_ff=0.3"))
    assert len(liquid) == 4 and all(pair != "60-90" for _, pair, _ in liquid)


def test_filter_to_my_tickers_and_to_the_latest_discovery_universe(trader_client, trader):
    for ticker in ("AAPL", "MSFT", "TSLA"):
        saved_signals(signal_dict(ticker))
    Subscription.objects.create(user=trader, ticker="MSFT")
    universe(date(2025, 3, 3), "AAPL", "MSFT")
    universe(date(2025, 3, 4), "TSLA", "MSFT")  # the latest
    assert tickers_on(trader_client.get("/signals/?mine=on")) == ["MSFT"]
    assert set(tickers_on(trader_client.get("/signals/?universe=on"))) == {"TSLA", "MSFT"}
    assert tickers_on(trader_client.get("/signals/?universe=on&mine=on")) == ["MSFT"]


def test_the_pair_filter_offers_the_pairs_on_the_board_in_order(trader_client):
    scanned("AAPL")
    form = trader_client.get("/signals/").context["form"]
    assert [value for value, _ in form.fields["pair"].choices] == ["", "30-60", "30-90", "60-90"]


# --- sort ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-ff", ["B", "A", "C", "N"]),
        ("ff", ["C", "A", "B", "N"]),  # no FF sorts last either way
        ("ticker", ["A", "B", "C", "N"]),
        ("-ticker", ["N", "C", "B", "A"]),
        ("spread_cost_pct", ["C", "B", "A", "N"]),
        ("-as_of", ["C", "A", "B", "N"]),
    ],
)
def test_sort_by_a_column_either_way_with_empty_values_last(trader_client, sort, expected):
    saved_signals(signal_dict("A", ff=0.3, spread_cost_pct=9.0, as_of=AS_OF))
    saved_signals(signal_dict("B", ff=0.5, spread_cost_pct=5.0, as_of=AS_OF - timedelta(hours=2)))
    saved_signals(signal_dict("C", ff=0.1, spread_cost_pct=2.0, as_of=AS_OF + timedelta(hours=1)))
    saved_signals(signal_dict("N", ff=None, spread_cost_pct=None, as_of=AS_OF - timedelta(hours=3)))
    response = trader_client.get(f"/signals/?sort={sort}")
    assert tickers_on(response) == expected


def test_followed_tickers_stay_first_whatever_the_sort(trader_client, trader):
    saved_signals(signal_dict("A", ff=0.3))
    saved_signals(signal_dict("Z", ff=0.1))
    Subscription.objects.create(user=trader, ticker="Z")
    assert tickers_on(trader_client.get("/signals/?sort=ticker")) == ["Z", "A"]


def test_column_headers_sort_by_their_column_and_keep_the_filter(trader_client):
    scanned("AAPL")
    page = trader_client.get("/signals/?pair=30-60&page=1").content.decode()
    assert 'href="?pair=30-60&amp;sort=-forward_iv"' in page  # figures: strongest first
    assert 'href="?pair=30-60&amp;sort=ticker"' in page
    assert 'href="?pair=30-60&amp;sort=ff"' in page  # FF is the current sort: the other way
    assert 'aria-sort="descending"' in page


# --- pages and CSV -------------------------------------------------------------------------------


def test_pages_of_fifty_keep_the_filter_and_sort(trader_client):
    for i in range(PER_PAGE + 5):
        saved_signals(signal_dict(f"T{i:03d}", ff=i / 100))
    first = trader_client.get("/signals/?sort=ticker&min_ff=0")
    assert len(tickers_on(first)) == PER_PAGE and tickers_on(first)[0] == "T000"
    assert 'href="?sort=ticker&amp;min_ff=0&amp;page=2"' in first.content.decode()
    second = trader_client.get("/signals/?sort=ticker&min_ff=0&page=2")
    assert tickers_on(second) == [f"T{i:03d}" for i in range(PER_PAGE, PER_PAGE + 5)]
    assert trader_client.get("/signals/?page=999").context["page"].number == 2


def test_csv_exports_the_whole_filtered_set_in_the_board_s_order(trader_client, trader):
    for i in range(PER_PAGE + 5):
        saved_signals(signal_dict(f"T{i:03d}", ff=i / 100), signal_dict(f"T{i:03d}", pair="60-90", ff=0.9))
    Subscription.objects.create(user=trader, ticker="T007")
    response = trader_client.get("/signals/export.csv?pair=30-60&page=2")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="signals.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == PER_PAGE + 5 and {row["pair"] for row in rows} == {"30-60"}
    assert rows[0]["ticker"] == "T007" and rows[0]["followed"] == "yes"
    assert rows[1]["ticker"] == f"T{PER_PAGE + 4:03d}" and rows[1]["ff"] == "0.54"
    assert rows[1]["forward_iv"] == "0.2061" and rows[1]["passes_liquidity"] == "yes"


def test_the_csv_link_carries_the_filter_but_not_the_page(trader_client):
    scanned("AAPL")
    page = trader_client.get("/signals/?pair=30-60&page=1").content.decode()
    assert 'href="/signals/export.csv?pair=30-60"' in page


# --- bad query strings ---------------------------------------------------------------------------


def test_a_value_that_does_not_parse_is_left_out_and_said_so(trader_client):
    scanned("AAPL", ff=0.5)
    scanned("MSFT", ff=0.2)
    response = trader_client.get("/signals/?min_ff=0.3x&pair=45-75&structure=straddle&sort=bogus&page=two")
    assert response.status_code == 200
    assert len(keys_on(response)) == 12  # every filter that did not parse is ignored
    assert keys_on(response)[0][0] == "AAPL"  # the default sort, strongest first
    errors = response.context["form"].errors
    assert set(errors) == {"min_ff", "pair", "structure", "sort"}
    assert "Enter a number." in response.content.decode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["pair", "structure", "min_ff", "liquid", "mine", "universe", "sort", "page", "other"]),
        st.one_of(st.text(max_size=12), st.sampled_from(["nan", "inf", "-1e400", "1e400", "-ff", "0", "\x00"])),
    )
)
def test_no_query_string_gives_an_error_page(trader_client, params):
    for path in ("/signals/", "/signals/table/", "/signals/export.csv"):
        response = trader_client.get(path, params)
        assert response.status_code == 200, (path, params)
        if path.endswith(".csv"):
            b"".join(response.streaming_content)


# --- queries ---------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_rows(trader_client, trader, django_assert_max_num_queries):
    def filled(tickers: int) -> None:
        for i in range(tickers):
            scanned(f"Q{i:03d}", ff=i / 100)
            if i % 3 == 0:
                Subscription.objects.get_or_create(user=trader, ticker=f"Q{i:03d}")
        no_pair = Scan.objects.create(
            ticker="NOPR", reason=Scan.Reason.MANUAL, outcome=Scan.Outcome.NO_PAIR, started_at=AS_OF, notes="no pair"
        )
        Ticker.objects.update_or_create(symbol="NOPR", defaults={"last_scan": no_pair})

    universe(date(2025, 3, 4), "Q000", "Q001")
    filled(2)
    query = "/signals/?universe=&liquid=on&min_ff=0&sort=-forward_iv"
    # session, user, the pairs offered, the count, the page, the tickers without a pair
    with django_assert_max_num_queries(6) as page_queries:
        trader_client.get(query)
    with django_assert_max_num_queries(6) as table_queries:
        trader_client.get("/signals/table/?universe=on&mine=on")
    filled(30)  # 180 rows: four pages
    with django_assert_max_num_queries(len(page_queries)):
        response = trader_client.get(query + "&page=2")
    with django_assert_max_num_queries(len(table_queries)):
        trader_client.get("/signals/table/?universe=on&mine=on")
    assert len(response.context["page"].object_list) == PER_PAGE
