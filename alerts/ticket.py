"""How a signal reads to a trader: the order ticket, contracts, money, dates and New York times.

The ticket names every leg with its direction, then the debit a share and a spread and the
suggested limit, e.g. "Sell 1 PLTR 31 Dec 26 61 C / Buy 1 PLTR 29 Jan 27 61 C · debit ≈ $1.36 a
share ($136 a spread) · limit $1.40". A double calendar is one ticket of four legs (call side, then
put side): the debit and the limit are those of the whole structure, entered as one order.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from scanner.engine import FFSignal, Leg

NEW_YORK = ZoneInfo("America/New_York")
SHARES_PER_CONTRACT = 100
# Front legs are sold, back legs bought; a double calendar lists its call side first.
SIDES = (("front_call", "back_call"), ("front_put", "back_put"))


def short_date(day: str | date) -> str:
    """31 Dec 26, as brokers print an expiry."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day} {day:%b %y}"


def new_york_time(moment: str | datetime) -> str:
    """30 Nov 2026 10:26 ET: the time a trader reads, to the minute."""
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    local = moment.astimezone(NEW_YORK)
    return f"{local.day} {local:%b %Y %H:%M} ET"


def strike(value: float) -> str:
    """61, 61.5, 2.25: as many decimals as the strike has, at most two."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def dollars(value: float) -> str:
    return f"${value:,.2f}"


def whole_dollars(value: float) -> str:
    return f"${value:,.0f}"


def contract(ticker: str, leg: Leg) -> str:
    """PLTR 31 Dec 26 61 C."""
    kind = "C" if leg["contract_type"] == "call" else "P"
    return f"{ticker} {short_date(leg['expiry'])} {strike(leg['strike'])} {kind}"


def action(leg: Leg) -> str:
    return "Sell" if leg["leg"].startswith("front") else "Buy"


def ordered_legs(signal: FFSignal) -> list[Leg]:
    """The legs in ticket order: each side's front (sold) then back (bought), calls before puts."""
    by_name = {leg["leg"]: leg for leg in signal["legs"]}
    return [by_name[name] for side in SIDES for name in side if name in by_name]


def order_ticket(signal: FFSignal) -> str:
    legs = " / ".join(f"{action(leg)} 1 {contract(signal['ticker'], leg)}" for leg in ordered_legs(signal))
    debit = signal["debit"]
    per_spread = signal.get("debit_per_spread", debit * SHARES_PER_CONTRACT)
    # A calendar costs money; a credit means the quotes are odd, and the ticket says so plainly.
    word = "debit" if debit >= 0 else "credit"
    ticket = f"{legs} · {word} ≈ {dollars(abs(debit))} a share ({whole_dollars(abs(per_spread))} a spread)"
    limit = signal.get("limit_price")
    if limit is not None:
        ticket += f" · limit {dollars(limit)}"
    return ticket
