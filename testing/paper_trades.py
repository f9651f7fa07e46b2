"""Closed paper trades built by hand, with every figure an exit stores, for the track record's page tests
and benchmark. The fills follow README "Track record (paper trades)": P&L per spread = (credit − debit)
× 100 − commissions, return = P&L ÷ (debit × 100), per model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from trades.models import PaperTrade

OPENED = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
# Exit times: 15:45 New York (20:45 UTC in winter), the rule's exit.
FIRST_CLOSE = datetime(2026, 2, 2, 20, 45, tzinfo=UTC)
PAIRS = ("30-60", "30-90", "60-90")
STRUCTURES = ("atm_call_calendar", "double_calendar")
FFS = (0.22, 0.27, 0.34, 0.45, 0.62)


def closed_trade(
    i: int,
    *,
    ff: float = 0.3,
    pair: str = "30-60",
    structure: str = "atm_call_calendar",
    earnings: bool = False,
    entry_mid: float = 1.25,
    entry_fill: float = 1.2875,
    exit_mid: float = 1.50,
    exit_fill: float = 1.4625,
    closed_at: datetime = FIRST_CLOSE,
    reason: str = PaperTrade.ExitReason.EXIT_RULE,
    flags: tuple[str, ...] = (),
    ticker: str = "T",
) -> PaperTrade:
    """The ``i``-th trade (its front expiry tells it apart), closed with these prices a share."""
    legs = 4 if structure == "double_calendar" else 2
    commission = legs * 0.65
    pnl_mid = round((exit_mid - entry_mid) * 100 - 2 * commission, 6)
    pnl_fill = round((exit_fill - entry_fill) * 100 - 2 * commission, 6)
    front = date(2026, 2, 3) + timedelta(days=i)
    return PaperTrade(
        ticker=ticker,
        structure=structure,
        pair=pair,
        front_expiry=front,
        back_expiry=front + timedelta(days=30),
        strike=100.0,
        put_strike=95.0 if structure == "double_calendar" else None,
        strikes="100/95" if structure == "double_calendar" else "100",
        legs=[{"leg": "front_call", "bid": 2.9, "ask": 3.0}, {"leg": "back_call", "bid": 4.1, "ask": 4.3}],
        opened_at=OPENED + timedelta(minutes=i),
        ff=ff,
        earnings_in_window=earnings,
        fill_share=0.25,
        commission_per_contract=0.65,
        entry_mid=entry_mid,
        entry_natural=entry_mid + 4 * (entry_fill - entry_mid),
        entry_fill=entry_fill,
        entry_mid_per_spread=entry_mid * 100,
        entry_fill_per_spread=entry_fill * 100,
        entry_commission=commission,
        exit_due_at=closed_at,
        status=PaperTrade.Status.CLOSED,
        closed_at=closed_at,
        exit_reason=reason,
        exit_mid=exit_mid,
        exit_natural=exit_mid - 4 * (exit_mid - exit_fill),
        exit_fill=exit_fill,
        exit_commission=commission,
        pnl_mid=pnl_mid,
        pnl_fill=pnl_fill,
        return_mid=pnl_mid / (entry_mid * 100),
        return_fill=pnl_fill / (entry_fill * 100),
        flags=list(flags),
    )


def varied_book(count: int, *, start: int = 0) -> list[PaperTrade]:
    """``count`` closed trades across the FF buckets, pairs, structures and earnings, winners and losers,
    closing a few a session (several at the same exit time), saved."""
    trades = []
    for n in range(start, start + count):
        move = ((n * 37) % 23 - 9) / 40  # a closing credit from 0.225 below to 0.325 above the entry's
        trades.append(
            closed_trade(
                n,
                ff=FFS[n % len(FFS)],
                pair=PAIRS[n % len(PAIRS)],
                structure=STRUCTURES[(n // 3) % len(STRUCTURES)],
                earnings=n % 4 == 0,
                exit_mid=1.25 + move,
                exit_fill=1.25 + move - 0.0375,
                closed_at=FIRST_CLOSE + timedelta(days=n // 3),
                reason=PaperTrade.ExitReason.NO_QUOTE if n % 17 == 5 else PaperTrade.ExitReason.EXIT_RULE,
                flags=("no_quote",) if n % 17 == 5 else (),
                ticker=f"T{n % 50:02d}",
            )
        )
    return PaperTrade.objects.bulk_create(trades, batch_size=1000)
