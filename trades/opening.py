"""Opening paper trades from a scan's stored signals (the reference rule's, one trade per spread)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from django.conf import settings

from scanner.models import Signal
from trades import exits, fills, rules
from trades.models import PaperTrade, strikes_key

logger = logging.getLogger(__name__)

QUOTE_KEYS = ("leg", "contract_type", "expiry", "strike", "bid", "ask", "mid")


def entry_legs(signal: Mapping, quoted_at: str) -> list[dict]:
    """The contracts of a signal with the quotes a trade keeps (and when they were quoted)."""
    return [{**{k: leg[k] for k in QUOTE_KEYS}, "quoted_at": quoted_at} for leg in signal["legs"]]


def paper_trade(signal: Signal) -> PaperTrade | None:
    """The trade ``signal`` opens under the reference rule, unsaved; None when it opens none."""
    data = signal.data
    if rules.rejections(data, settings.TRADES_MIN_FF):
        return None
    due = exits.exit_due_at(date.fromisoformat(data["front_expiry"]), signal.as_of)
    if due <= signal.as_of:
        return None  # the exit time has already come: nothing to hold
    legs = entry_legs(data, data["as_of"])
    share, commission = settings.TRADES_FILL_SHARE, settings.TRADES_COMMISSION_PER_CONTRACT
    debit = fills.opening_debit(legs, share)
    return PaperTrade(
        ticker=signal.ticker,
        structure=data["structure"],
        pair=data["pair"],
        front_expiry=signal.front_expiry,
        back_expiry=signal.back_expiry,
        strike=data["strike"],
        put_strike=data.get("put_strike"),
        strikes=strikes_key(data["strike"], data.get("put_strike")),
        legs=legs,
        signal=signal,
        opened_at=signal.as_of,
        ff=rules.reference_ff(data),
        earnings_in_window=rules.earnings_in_window(data),
        fill_share=share,
        commission_per_contract=commission,
        entry_mid=debit.mid,
        entry_natural=debit.natural,
        entry_fill=debit.fill,
        entry_mid_per_spread=debit.per_spread("mid"),
        entry_fill_per_spread=debit.per_spread("fill"),
        entry_commission=fills.commission_per_spread(len(legs), commission),
        exit_due_at=due,
    )


def open_trades(signals: Sequence[Signal]) -> list[PaperTrade]:
    """Open the trades of the qualifying ``signals``; a spread already traded is left as it is.

    One INSERT … ON CONFLICT DO NOTHING on the trade's unique key: two scans storing the same
    signals at once (or one scan stored twice) open each trade once. Returns the trades attempted.
    """
    candidates = [trade for trade in map(paper_trade, signals) if trade is not None]
    if candidates:
        PaperTrade.objects.bulk_create(candidates, ignore_conflicts=True)
    return candidates
