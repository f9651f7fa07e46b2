"""Hand-made engine signals, users with settings, and saved scans for the pipeline tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from accounts.addresses import mark_address_verified
from accounts.models import Subscription, User
from alerts.models import Alert, Message
from discovery.models import UniverseMember, UniverseSnapshot
from scanner.engine import FFSignal, Leg
from scanner.engine.costs import SpreadCosts
from scanner.engine.signal import LegName, Structure
from scanner.latest import record_latest
from scanner.models import Scan, Signal
from scanner.scanning import signal_row

# A Tuesday, 11:00 New York: inside the session.
AS_OF = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)


def signal_dict(
    ticker: str = "AAPL",
    structure: Structure = "atm_call_calendar",
    pair: str = "30-60",
    ff: float | None = 0.30,
    open_interest: float | None = 500,
    volume: float = 50,
    spread_pct: float = 3.0,
    as_of: datetime = AS_OF,
    spread_cost_pct: float | None = 8.0,
    flags: tuple[str, ...] = (),
    ff_ex_earnings: float | None = None,
    earnings_dates: tuple[str, ...] = (),
) -> FFSignal:
    """A complete signal (every key the engine reports) whose figures routing and emails look at are set here.

    The costs: a mid debit of $1.25 a share and a natural debit ``spread_cost_pct`` above it (None: a
    signal whose mid debit is not positive)."""
    front_dte, back_dte = (int(x) for x in pair.split("-"))
    front = (as_of.date() + timedelta(days=front_dte)).isoformat()
    back = (as_of.date() + timedelta(days=back_dte)).isoformat()
    double = structure == "double_calendar"
    names: list[LegName] = ["front_call", "back_call"] + (["front_put", "back_put"] if double else [])
    legs: list[Leg] = [
        {
            "leg": name,
            "contract_type": "call" if "call" in name else "put",
            "expiry": front if name.startswith("front") else back,
            "strike": 95.0 if "put" in name else 100.0,  # a double's put legs sit at its put strike
            "bid": 2.9,
            "ask": 3.0,
            "mid": 2.95,
            "spread_pct": spread_pct,
            "open_interest": open_interest,
            "volume": volume,
            "iv": 0.4,
            "iv_source": "vendor",
        }
        for name in names
    ]
    if double:
        legs[0]["delta"], legs[2]["delta"] = 0.35, -0.35  # the front call and put
    signal: FFSignal = {
        "ticker": ticker,
        "structure": structure,
        "pair": pair,
        "front_expiry": front,
        "back_expiry": back,
        "front_dte": front_dte,
        "back_dte": back_dte,
        "strike": 100.0,
        "front_iv": 0.45,
        "back_iv": 0.35,
        "forward_iv": 0.2061,
        "ff": ff,
        "ff_constant_maturity": None,
        "ff_constant_maturity_basis": "atm_forward_total_variance",
        "ff_ex_earnings": ff_ex_earnings,
        "earnings_dates": list(earnings_dates),
        **_costs(1.25, spread_cost_pct),
        "legs": legs,
        "underlying_price": 100.4,
        "as_of": as_of.isoformat(),
        "passes_liquidity": True,
        "reasons": [],
        "flags": list(flags),
    }
    if double:
        signal.update(
            put_strike=95.0,
            call_ff=ff,
            put_ff=None if ff is None else ff + 0.1,
            min_ff=ff,
            call_forward_iv=0.2061,
            put_forward_iv=0.19,
        )
    return signal


def _costs(debit: float, spread_cost_pct: float | None) -> SpreadCosts:
    natural = debit * (1 + (spread_cost_pct or 0.0) / 100)
    limit = round(debit + (natural - debit) / 4, 2)
    return {
        "debit": debit,
        "debit_natural": natural,
        "spread_cost_pct": spread_cost_pct,
        "limit_price": limit,
        "debit_per_spread": round(debit * 100, 2),
        "debit_natural_per_spread": round(natural * 100, 2),
        "limit_per_spread": round(limit * 100, 2),
    }


def saved_signals(*signals: FFSignal, started_at: datetime | None = None) -> list[Signal]:
    """A completed scan holding the given signals, on the board as a scan would put them."""
    first = signals[0]
    scan = Scan.objects.create(
        ticker=first["ticker"],
        reason=Scan.Reason.MANUAL,
        outcome=Scan.Outcome.OK,
        started_at=started_at or datetime.fromisoformat(first["as_of"]),
    )
    stored = Signal.objects.bulk_create([signal_row(scan, s) for s in signals])
    record_latest(stored)
    return stored


def user(
    email: str,
    follows: tuple[str, ...] = (),
    discovery: bool = False,
    active: bool = True,
    verified: bool = True,
    **alert_settings,
) -> User:
    """A user with alert settings; ``verified``: their address was confirmed (alerts may go to it)."""
    person = User.objects.create_user(email=email, password=None, discovery_mode=discovery, is_active=active)
    if verified:
        mark_address_verified(person)
    if alert_settings:
        for name, value in alert_settings.items():
            setattr(person.alert_settings, name, value)
        person.alert_settings.save()
    for ticker in follows:
        Subscription.objects.create(user=person, ticker=ticker)
    return person


def universe(day: date, *tickers: str) -> UniverseSnapshot:
    snapshot = UniverseSnapshot.objects.create(session_date=day)
    UniverseMember.objects.bulk_create(
        [
            UniverseMember(snapshot=snapshot, rank=i + 1, ticker=t, volume=1e6, dollar_volume=1e8)
            for i, t in enumerate(tickers)
        ]
    )
    return snapshot


def delivered(
    person: User, signal: Signal, status: str, ff_bucket: int, kind: str = Message.Kind.SUBSCRIPTION
) -> Message:
    """A message in ``status`` carrying one alert of ``signal`` (distinct ``ff_bucket``s keep alert keys apart)."""
    message = Message.objects.create(
        user=person,
        ticker=signal.ticker,
        scan_id=signal.scan_id,
        kind=kind,
        trading_day=signal.as_of.date(),
        status=status,
        error="SMTP said no" if status == Message.Status.FAILED else "",
    )
    Alert.objects.create(
        user=person,
        signal=signal,
        message=message,
        kind=kind,
        ticker=signal.ticker,
        structure=signal.structure,
        pair=signal.pair,
        front_expiry=signal.front_expiry,
        back_expiry=signal.back_expiry,
        trading_day=signal.as_of.date(),
        ff_bucket=ff_bucket,
        ff=signal.ff,
        ff_judged=signal.ff,
    )
    return message
