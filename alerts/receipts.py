"""SMTP acceptances remembered outside the database, for a day.

The one window the outbox cannot close by itself: the SMTP server accepted a message, then the
UPDATE marking it sent failed because PostgreSQL went away. The send task retries under the same
claim; without a receipt it would send the message again. With one, the retry marks it sent and
sends nothing. Redis being down too only reopens that window (the receipt is best effort).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis

from forwardfactor.shared_state import shared_redis

logger = logging.getLogger(__name__)

RECEIPT_SECONDS = 24 * 3600


def _key(message_id_header: str) -> str:
    # Keyed by the Message-ID (unique for good), not the row id: ids start again in a new database.
    return f"ff:mail:accepted:{message_id_header}"


def remember_accepted(message_id_headers: Sequence[str]) -> bool:
    """Receipts for the messages one accepted email carried (a digest carries several); whether they
    were kept. One round trip."""
    try:
        with shared_redis().pipeline(transaction=False) as pipe:
            for header in message_id_headers:
                pipe.set(_key(header), 1, ex=RECEIPT_SECONDS)
            pipe.execute()
    except redis.RedisError as exc:
        logger.warning("could not record SMTP acceptance of %s: %s", ", ".join(message_id_headers), exc)
        return False
    return True


def accepted_among(message_id_headers: Sequence[str]) -> set[str]:
    """Those of the Message-IDs the SMTP server already accepted (empty when Redis cannot tell)."""
    if not message_id_headers:
        return set()
    try:
        found = shared_redis().mget([_key(header) for header in message_id_headers])
    except redis.RedisError as exc:
        logger.warning("could not read SMTP receipts: %s", exc)
        return set()
    return {header for header, value in zip(message_id_headers, found) if value is not None}
