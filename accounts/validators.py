"""Validation of user input that reaches the scanner: tickers, expiry pairs, time zones."""

from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError

# Letters first; digits are allowed after the first letter for test and vendor symbols like FAKE1.
TICKER_RE = re.compile(r"^[A-Z][A-Z0-9]{0,5}(\.[A-Z])?$")
PAIR_RE = re.compile(r"^(\d{1,3})-(\d{1,3})$")


def normalize_ticker(raw: str) -> str:
    return (raw or "").strip().upper()


def validate_ticker(value: str) -> None:
    if not TICKER_RE.match(value or ""):
        raise ValidationError(
            "%(value)r is not a ticker: use 1 to 6 letters (digits allowed after the first), optionally with a class suffix such as BRK.B.",
            code="invalid_ticker",
            params={"value": value},
        )


def parse_pair(value: str) -> tuple[int, int]:
    """'30-60' -> (30, 60); raises ValidationError on anything else."""
    match = PAIR_RE.match(str(value).strip())
    if not match:
        raise ValidationError(
            "%(value)r is not a DTE pair: write front-back in days, e.g. 30-60.",
            code="invalid_pair",
            params={"value": value},
        )
    front, back = int(match.group(1)), int(match.group(2))
    if not 0 < front < back:
        raise ValidationError(
            "%(value)r: the front DTE must be positive and shorter than the back DTE.",
            code="invalid_pair",
            params={"value": value},
        )
    return front, back


def validate_pairs(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError('Give at least one DTE pair, e.g. ["30-60"].', code="invalid_pairs")
    for item in value:
        parse_pair(item)
    if len(set(value)) != len(value):
        raise ValidationError("A DTE pair is listed twice.", code="duplicate_pair")


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(value)r is not a time zone name such as America/New_York.",
            code="invalid_timezone",
            params={"value": value},
        ) from None
