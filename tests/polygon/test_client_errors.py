"""Vendor failures become our error types; the key never shows in messages, logs or reprs."""

from __future__ import annotations

import logging

import fakeredis
import pytest
import requests

from scanner.polygon.client import PolygonClient
from scanner.polygon.errors import (
    AuthError,
    MalformedResponseError,
    NotEntitledError,
    RateLimitedError,
    TransientError,
    UnknownTickerError,
)
from scanner.polygon.ratelimit import Rate, RateLimiter
from tests.polygon.conftest import API_KEY
from tests.polygon.fake_polygon import BASE_URL

STATUS = f"{BASE_URL}/v1/marketstatus/now"
STATUS_BODY = {"market": "open", "serverTime": "2025-03-03T10:00:00-05:00", "earlyHours": False, "afterHours": False}


def test_unknown_key_is_an_auth_error_not_retried(client, mocked):
    # given
    mocked.get(STATUS, status=401, json={"status": "ERROR", "request_id": "r", "error": "Unknown API Key"})

    # when
    with pytest.raises(AuthError) as caught:
        client.market_status()

    # then
    assert len(mocked.calls) == 1
    assert not caught.value.retryable
    assert "POLYGON_API_KEY" in str(caught.value) and "Unknown API Key" in str(caught.value)


def test_not_authorized_means_the_plan_lacks_the_data_and_is_never_retried(client, mocked):
    # given
    mocked.get(
        STATUS,
        status=403,
        json={"status": "NOT_AUTHORIZED", "request_id": "r", "message": "You are not entitled to this data."},
    )

    # when
    with pytest.raises(NotEntitledError) as caught:
        client.market_status()

    # then
    assert len(mocked.calls) == 1
    assert not caught.value.retryable
    assert "plan does not include this data" in str(caught.value) and "not retried" in str(caught.value)


def test_429_is_retried_after_retry_after(client, mocked, sleeps):
    # given one 429 asking for 2 seconds, then an answer
    mocked.get(STATUS, status=429, headers={"Retry-After": "2"}, json={"status": "ERROR", "error": "too many"})
    mocked.get(STATUS, json=STATUS_BODY)

    # when
    status = client.market_status()

    # then
    assert status.market == "open"
    assert sleeps == [2.0]
    assert client.requests_made == 2


def test_429_pauses_the_shared_bucket_for_everyone(mocked, sleeps):
    # given a client on a shared bucket and a 429 with a short Retry-After
    bucket = fakeredis.FakeRedis()
    limiter = RateLimiter(bucket, Rate.parse("100"), name="test")
    client = PolygonClient(BASE_URL, API_KEY, limiter=limiter, sleep=sleeps.append)
    mocked.get(STATUS, status=429, headers={"Retry-After": "0.2"})
    mocked.get(STATUS, json=STATUS_BODY)

    # when
    client.market_status()

    # then another process sharing the bucket was told to wait too
    assert float(bucket.hget(limiter.key, "paused_until_us")) > 0


def test_a_long_retry_after_is_left_to_the_caller(client, mocked, sleeps):
    # given
    mocked.get(STATUS, status=429, headers={"Retry-After": "60"})

    # when
    with pytest.raises(RateLimitedError) as caught:
        client.market_status()

    # then
    assert caught.value.retry_after == 60.0 and caught.value.retryable
    assert sleeps == [] and len(mocked.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_transient(client, mocked, sleeps, status):
    # given
    mocked.get(STATUS, status=status, body="<html>bad gateway</html>")

    # when
    with pytest.raises(TransientError) as caught:
        client.market_status()

    # then 1 + max_retries attempts with growing pauses
    assert len(mocked.calls) == 3 and len(sleeps) == 2
    assert caught.value.retryable and str(status) in str(caught.value)


def test_a_server_error_then_success_answers(client, mocked):
    # given
    mocked.get(STATUS, status=503)
    mocked.get(STATUS, json=STATUS_BODY)

    # when / then
    assert client.market_status().server_time.isoformat() == "2025-03-03T15:00:00+00:00"


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ReadTimeout("read timed out"), requests.exceptions.ConnectionError("refused")]
)
def test_timeouts_and_connection_errors_are_transient(client, mocked, failure):
    # given
    mocked.get(STATUS, body=failure)

    # when / then
    with pytest.raises(TransientError):
        client.market_status()
    assert len(mocked.calls) == 3


@pytest.mark.parametrize("body", [b'{"results": [{"details": {', b"<html>gateway</html>", b""])
def test_malformed_json_is_a_clear_error(client, mocked, body):
    # given
    mocked.get(STATUS, body=body)

    # when
    with pytest.raises(MalformedResponseError) as caught:
        client.market_status()

    # then
    assert "not valid JSON" in str(caught.value) and "\n" not in str(caught.value)


def test_json_that_is_not_an_object_is_malformed(client, mocked):
    mocked.get(STATUS, json=[1, 2])
    with pytest.raises(MalformedResponseError, match="not an object"):
        client.market_status()


def test_not_found_is_an_unknown_ticker(client, mocked):
    mocked.get(f"{BASE_URL}/v3/snapshot/options/ZZZZ", status=404, json={"status": "NOT_FOUND"})
    with pytest.raises(UnknownTickerError):
        client.option_chain_pages("ZZZZ")


def test_the_key_never_appears_in_errors_logs_or_reprs(mocked, sleeps, caplog):
    # given a key that the vendor echoes back in its error texts and in a URL
    client = PolygonClient(BASE_URL, API_KEY, sleep=sleeps.append)
    leaked_url = f"https://api.polygon.io/v1/marketstatus/now?apiKey={API_KEY}"
    mocked.get(STATUS, status=503, json={"status": "ERROR", "error": f"bad key {API_KEY}"})
    mocked.get(STATUS, body=requests.exceptions.ConnectionError(f"failed {leaked_url}"))
    mocked.get(STATUS, status=401, json={"status": "ERROR", "error": f"Unknown API Key {API_KEY}"})
    caplog.set_level(logging.DEBUG)

    # when
    with pytest.raises(AuthError) as caught:
        client.market_status()

    # then
    texts = [str(caught.value), repr(caught.value), repr(client), caplog.text]
    assert all(API_KEY not in text for text in texts)
    assert "apiKey=***" in caplog.text


def test_the_key_is_sent_as_a_bearer_header_only(client, mocked):
    # given
    mocked.get(STATUS, json=STATUS_BODY)

    # when
    client.market_status()

    # then
    request = mocked.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in request.url
