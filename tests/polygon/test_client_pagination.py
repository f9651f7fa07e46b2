"""Pagination of the chain snapshot: next_url on any host, cursor guard, page cap, absent results."""

from __future__ import annotations

import pytest
from responses import matchers

from scanner.polygon.errors import MalformedResponseError
from tests.polygon.fake_polygon import BASE_URL

SNAPSHOT = f"{BASE_URL}/v3/snapshot/options/AAPL"


def _row(expiry: str) -> dict:
    return {"details": {"contract_type": "call", "expiration_date": expiry, "strike_price": 150, "ticker": "O:X"}}


def test_next_url_on_another_host_is_asked_of_our_base_url(client, mocked):
    # given a first page whose next_url names the vendor's host (and even carries an apiKey)
    mocked.get(
        SNAPSHOT,
        match=[matchers.query_param_matcher({"limit": "250"})],
        json={
            "results": [_row("2030-01-18")],
            "next_url": "https://api.polygon.io/v3/snapshot/options/AAPL?cursor=P2&apiKey=leak",
        },
    )
    mocked.get(SNAPSHOT, match=[matchers.query_param_matcher({"cursor": "P2"})], json={"results": [_row("2030-02-15")]})

    # when
    pages = client.option_chain_pages("AAPL")

    # then both pages came from our base URL, without the apiKey, and were counted
    assert [call.request.url for call in mocked.calls] == [f"{SNAPSHOT}?limit=250", f"{SNAPSHOT}?cursor=P2"]
    assert pages.contracts == 2 and pages.requests == 2 and client.requests_made == 2
    assert {e.isoformat() for e in pages.expiries} == {"2030-01-18", "2030-02-15"}


def test_filters_are_sent_as_the_vendor_names_them(client, mocked):
    from datetime import date

    # given
    mocked.get(
        SNAPSHOT,
        match=[
            matchers.query_param_matcher(
                {
                    "limit": "250",
                    "expiration_date": "2030-01-18",
                    "strike_price.gte": "140.5",
                    "strike_price.lte": "160",
                    "contract_type": "put",
                }
            )
        ],
        json={"results": []},
    )

    # when
    pages = client.option_chain_pages(
        "aapl", expiration_date=date(2030, 1, 18), strike_gte=140.5, strike_lte=160.0, contract_type="put"
    )

    # then
    assert pages.contracts == 0 and pages.requests == 1


def test_a_repeated_cursor_stops_with_a_clear_error(client, mocked):
    # given a vendor that keeps answering the same next_url
    mocked.get(SNAPSHOT, json={"results": [_row("2030-01-18")], "next_url": f"{SNAPSHOT}?cursor=SAME"})

    # when / then
    with pytest.raises(MalformedResponseError, match="repeated a page cursor"):
        client.option_chain_pages("AAPL")
    assert len(mocked.calls) == 2  # the first page and SAME; SAME again is refused unasked


def test_the_page_cap_bounds_an_endless_chain(client, mocked):
    # given a vendor that always has another, new page
    pages_served = iter(range(1000))
    mocked.add_callback(
        "GET",
        SNAPSHOT,
        callback=lambda request: (200, {}, f'{{"results": [], "next_url": "{SNAPSHOT}?cursor=c{next(pages_served)}"}}'),
    )

    # when / then
    with pytest.raises(MalformedResponseError, match="more than 5 pages"):
        client.option_chain_pages("AAPL", max_pages=5)
    assert len(mocked.calls) == 5


@pytest.mark.parametrize("body", [{"status": "OK"}, {"status": "OK", "results": None}, {"results": []}])
def test_missing_or_null_results_is_an_empty_page(client, mocked, body):
    # given
    mocked.get(SNAPSHOT, json=body)

    # when
    pages = client.option_chain_pages("AAPL")

    # then
    assert pages.contracts == 0 and pages.expiries == frozenset() and len(pages.pages) == 1
    assert pages.pages[0].contracts == 0 and len(pages.pages[0].columns().strike) == 0


def test_counting_views_count_their_own_requests_and_the_parent_counts_all(client, mocked):
    # given
    mocked.get(SNAPSHOT, json={"results": []})
    scan = client.counting()

    # when
    client.option_chain_pages("AAPL")
    scan.option_chain_pages("AAPL")
    scan.option_chain_pages("AAPL")

    # then
    assert scan.requests_made == 2
    assert client.requests_made == 3
