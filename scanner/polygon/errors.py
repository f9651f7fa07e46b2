"""Market data failures as our own exception types.

Callers (Celery tasks, commands) decide on retries from ``retryable`` alone: transient failures and
rate limiting are retried with backoff; a bad key, a plan that lacks the data or a malformed answer
is not. Messages are one line and never contain the API key.
"""

from __future__ import annotations


class MarketDataError(Exception):
    """Any failure to get market data; ``str()`` is one line meant for logs and command output."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class ProviderNotConfiguredError(MarketDataError):
    """No API key / no market configured for a call that needs one."""


class AuthError(MarketDataError):
    """401: the provider does not know the API key."""


class NotEntitledError(MarketDataError):
    """403 NOT_AUTHORIZED: the key's plan does not include this data. Retrying cannot help."""


class UnknownTickerError(MarketDataError):
    """The provider has no such ticker (404, or an empty answer for a name that should exist)."""


class MalformedResponseError(MarketDataError):
    """The provider answered with something that is not the JSON we expect (truncated, not JSON, wrong shape)."""


class TransientError(MarketDataError):
    """5xx, timeouts, dropped connections: worth retrying after a pause."""

    retryable = True


class RateLimitedError(TransientError):
    """429 from the provider, or no rate-limiter token before the deadline; retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
