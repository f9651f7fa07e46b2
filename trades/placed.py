"""A user's placed trades: "I placed this" and "Ignore" from an alert, their own fill, "I closed it".

Placing records the spread of the alert's signal once per (user, alert) — the unique key makes a
double click or two tabs place once — links it to the paper trade of the same spread when there is
one (whose marks it shares) and schedules its reminders (trades.reminders). Closing it stops them.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from scanner.models import Signal
from trades import fills, reminders
from trades.models import PaperTrade, PlacedTrade, Reminder, strikes_key
from trades.opening import entry_legs


def _spread(signal: Signal) -> dict:
    """The placed trade's fields taken from the alert's signal."""
    data = signal.data
    legs = entry_legs(data, data["as_of"])
    share = settings.TRADES_FILL_SHARE
    strikes = strikes_key(data["strike"], data.get("put_strike"))
    paper = PaperTrade.objects.filter(
        ticker=signal.ticker,
        pair=data["pair"],
        structure=data["structure"],
        front_expiry=signal.front_expiry,
        back_expiry=signal.back_expiry,
        strikes=strikes,
    ).first()
    return {
        "signal": signal,
        "paper_trade": paper,
        "ticker": signal.ticker,
        "structure": data["structure"],
        "pair": data["pair"],
        "front_expiry": signal.front_expiry,
        "back_expiry": signal.back_expiry,
        "strike": data["strike"],
        "put_strike": data.get("put_strike"),
        "strikes": strikes,
        "legs": legs,
        "quoted_at": signal.as_of,
        "suggested_limit": data.get("limit_price"),
        "realistic_fill": fills.opening_debit(legs, share).fill,
        "fill_share": share,
        "commission_per_contract": settings.TRADES_COMMISSION_PER_CONTRACT,
    }


@transaction.atomic
def place(user_id: int, alert_id: int, signal: Signal, now: datetime) -> tuple[PlacedTrade, bool]:
    """Record that the user placed the alert's spread; (the trade, whether this call placed it).

    Placing an alert the user had ignored opens it; placing it again changes nothing.
    """
    trade, created = PlacedTrade.objects.get_or_create(
        user_id=user_id, alert_id=alert_id, defaults={**_spread(signal), "placed_at": now}
    )
    if not created:
        # A conditional UPDATE: of two clicks racing on an ignored trade, one opens it.
        reopened = PlacedTrade.objects.filter(pk=trade.pk, status=PlacedTrade.Status.IGNORED).update(
            status=PlacedTrade.Status.OPEN, placed_at=now
        )
        if not reopened:
            return trade, False
        trade.refresh_from_db()
    reminders.schedule(trade, now)
    return trade, True


def ignore(user_id: int, alert_id: int, signal: Signal, now: datetime) -> tuple[PlacedTrade, bool]:
    """Record that the user ignores the alert; a trade they already placed is left as it is."""
    return PlacedTrade.objects.get_or_create(
        user_id=user_id,
        alert_id=alert_id,
        defaults={**_spread(signal), "placed_at": now, "status": PlacedTrade.Status.IGNORED},
    )


@transaction.atomic
def close(trade: PlacedTrade, now: datetime) -> bool:
    """ "I closed it": the trade closes and its reminders not yet sent are cancelled. False if not open."""
    closed = PlacedTrade.objects.filter(pk=trade.pk, status=PlacedTrade.Status.OPEN).update(
        status=PlacedTrade.Status.CLOSED, closed_at=now
    )
    # A reminder a send task already claimed (sending) may still go out: the one window, seconds long.
    Reminder.objects.filter(placed_id=trade.pk, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED, error="the user closed the trade"
    )
    return bool(closed)


def set_own_fill(trade: PlacedTrade, debit: float) -> None:
    """The debit the user paid, a share: from then on the P&L is theirs."""
    PlacedTrade.objects.filter(pk=trade.pk).update(own_fill=debit)
    trade.own_fill = debit
