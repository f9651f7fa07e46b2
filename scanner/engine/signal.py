"""The signal: what the engine reports for one expiry pair and one structure of a chain.

Typed dicts rather than dataclasses: a signal is stored as JSON (``scanner.models.Signal.data``) and
read back from the database by routing, the emails and the ``scan`` command. A TypedDict stays the
plain dict that JSON gives back, so there is no conversion layer to keep in step with the engine,
while every reader gets named keys a type checker can check. Keys a structure does not report are
``NotRequired`` (read them with ``.get``); every other key is always present, possibly as None.

Dates are ISO strings and times ISO 8601 with an offset, as they are in the stored JSON.
"""

# No ``from __future__ import annotations``: TypedDict on Python 3.11 cannot see NotRequired
# through string annotations, and __required_keys__ / __optional_keys__ would both be wrong.
from typing import Literal, NotRequired, TypedDict

Structure = Literal["atm_call_calendar", "double_calendar"]
LegName = Literal["front_call", "back_call", "front_put", "back_put"]


class Leg(TypedDict):
    """One contract of the spread, with the figures its liquidity is judged on."""

    leg: LegName
    contract_type: Literal["call", "put"]
    expiry: str
    strike: float
    bid: float
    ask: float
    mid: float
    spread_pct: float  # of the mid
    open_interest: float | None  # None: the vendor did not give it (never assumed liquid)
    volume: float | None
    iv: float | None
    iv_source: Literal["vendor", "mid"] | None  # mid: solved from the bid/ask mid
    delta: NotRequired[float]  # front legs of a double calendar: the figure that picked the strike


class FFSignal(TypedDict):
    """One pair and structure of a scan, kept whether or not it passes (``reasons`` say why not).

    For a double calendar ``strike`` is the call strike, ``ff`` is ``min_ff`` (the lower side ranks)
    and front/back/forward IV are that side's; ``ff`` is None when either side has none.
    """

    ticker: str
    structure: Structure
    pair: str  # "front-back" target DTEs, e.g. "30-60"
    front_expiry: str
    back_expiry: str
    front_dte: int  # calendar days from the snapshot's trading date
    back_dte: int
    strike: float
    front_iv: float | None  # ATM at the forward (call calendar) or the legs' own IV (double)
    back_iv: float | None
    forward_iv: float | None
    ff: float | None  # the ranking figure; None: inverted, below the forward-vol floor or no IV
    ff_constant_maturity: float | None  # at exactly the pair's DTEs, a separate labelled figure
    ff_constant_maturity_basis: str
    ff_ex_earnings: float | None  # None without earnings in the window, or when it cannot be known
    earnings_dates: list[str]  # known earnings on or before the back expiry
    # Costs a share (scanner.engine.costs): back legs bought, front legs sold; a spread is 100 shares
    debit: float  # from the mids
    debit_natural: float  # buy at the ask, sell at the bid
    spread_cost_pct: float | None  # (natural - mid) / mid in percent; None when the mid debit is not positive
    limit_price: float  # suggested limit: mid + 1/4 of (natural - mid), rounded up to the cent
    debit_per_spread: float
    debit_natural_per_spread: float
    limit_per_spread: float
    legs: list[Leg]
    underlying_price: float
    as_of: str
    passes_liquidity: bool  # every leg passes the engine's own floors (users apply theirs in routing)
    reasons: list[str]
    flags: list[str]  # e.g. earnings_in_window, stale_quotes, iv_solved_from_mid, inverted
    # double calendar only
    put_strike: NotRequired[float]
    call_ff: NotRequired[float | None]
    put_ff: NotRequired[float | None]
    min_ff: NotRequired[float | None]
    call_forward_iv: NotRequired[float | None]
    put_forward_iv: NotRequired[float | None]
