"""Following tickers from a pasted list: each symbol is followed, already followed, or refused with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Subscription, User
from accounts.validators import normalize_ticker, validate_ticker
from scanner.underlyings import known_optionable

MAX_SYMBOLS_AT_ONCE = 50
_SEPARATORS = re.compile(r"[\s,;]+")
NOT_KNOWN = "not an optionable US underlying we know (the list is refreshed every trading day)"


@dataclass(frozen=True)
class Refusal:
    symbol: str
    reason: str


@dataclass
class FollowOutcome:
    followed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def split_symbols(text: str) -> list[str]:
    """'AAPL, msft tsla' -> ['AAPL', 'MSFT', 'TSLA']: upper case, each once, in the order given."""
    symbols = (normalize_ticker(part) for part in _SEPARATORS.split(text or ""))
    return list(dict.fromkeys(symbol for symbol in symbols if symbol))


def follow_symbols(user: User, symbols: list[str]) -> FollowOutcome:
    outcome = FollowOutcome()
    well_formed = []
    for symbol in symbols:
        try:
            validate_ticker(symbol)
        except ValidationError as exc:
            outcome.refused.append(Refusal(symbol, exc.messages[0]))
        else:
            well_formed.append(symbol)
    known = known_optionable(well_formed)
    following = set(user.subscriptions.filter(ticker__in=well_formed).values_list("ticker", flat=True))
    with transaction.atomic():
        for symbol in well_formed:
            if symbol not in known:
                outcome.refused.append(Refusal(symbol, NOT_KNOWN))
            elif symbol in following:
                outcome.already.append(symbol)
            else:
                # One by one, not bulk_create: each save tells the stream consumer to watch the ticker.
                Subscription.objects.get_or_create(user=user, ticker=symbol)
                outcome.followed.append(symbol)
    return outcome
