"""The simulated listing: heavy-tailed prices and volumes, fixed by the seed.

The default market is the first ``UNIVERSE_SIZE`` (600) names; a larger one (``names=5000``) keeps
them unchanged and adds names in blocks of ``EXTRA_BLOCK``, each block drawn from its own generator
with the same distributions, so a market of N names is the first N of any larger one of that seed.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from marketsim.randomness import derive_rng

ExpiryClass = Literal["daily", "weekly", "monthly"]
UNIVERSE_SIZE = 600  # the default market's names
EXTRA_BLOCK = 500  # names beyond the default are drawn this many at a time, one generator a block
MAX_NAMES = 20_000
WEEKLY_NAMES = 100  # the default market's names with weeklies: its most traded optionable ones

# symbol, previous close, average daily shares, annualised volatility
WELL_KNOWN: tuple[tuple[str, float, int, float], ...] = (
    ("SPY", 585.0, 62_000_000, 0.14),
    ("QQQ", 505.0, 38_000_000, 0.19),
    ("IWM", 228.0, 30_000_000, 0.22),
    ("AAPL", 228.0, 52_000_000, 0.26),
    ("MSFT", 418.0, 21_000_000, 0.24),
    ("NVDA", 141.0, 240_000_000, 0.48),
    ("TSLA", 342.0, 95_000_000, 0.58),
    ("AMZN", 205.0, 41_000_000, 0.33),
    ("META", 565.0, 13_000_000, 0.36),
    ("GOOGL", 176.0, 26_000_000, 0.30),
    ("AMD", 138.0, 38_000_000, 0.47),
    ("NFLX", 880.0, 3_200_000, 0.38),
    ("JPM", 245.0, 9_000_000, 0.22),
    ("XOM", 119.0, 15_000_000, 0.23),
    ("BAC", 46.0, 36_000_000, 0.25),
    ("F", 10.8, 55_000_000, 0.35),
    ("PLTR", 61.0, 80_000_000, 0.70),
    ("SOFI", 14.2, 60_000_000, 0.62),
    ("INTC", 24.0, 70_000_000, 0.45),
    ("COIN", 295.0, 11_000_000, 0.80),
)
INDEX_FUNDS = frozenset({"SPY", "QQQ", "IWM"})

# Generated names: annualised volatility falls with size, read as daily dollar volume (price × average
# shares): typical σ = 0.30 at $100M a day, × (dollar volume / $100M)^-0.15, never below 0.22 (the most
# traded names are not the calmest: NVDA- and TSLA-like stocks trade the most), × 1.8 under $5
# (penny stocks). Each name then gets its own lognormal factor (σ 0.3). That puts the optionable
# names trading $1B+ a day near 0.22–0.30 (a large cap), $20M a day near 0.38 (a small cap), $1M
# near 0.60 and the illiquid tail at 0.8–1.6, like the US listing; the well-known names above keep
# their own figures.
TYPICAL_VOLATILITY = 0.30
TYPICAL_DOLLAR_VOLUME = 100e6
SIZE_ELASTICITY = 0.15
LARGE_CAP_FLOOR = 0.22
PENNY_PRICE, PENNY_FACTOR = 5.0, 1.8
IDIOSYNCRATIC_SPREAD = 0.3
VOLATILITY_RANGE = (0.12, 1.6)


@dataclass(frozen=True)
class TickerProfile:
    """One listed symbol. `price` is the previous session's close; `ff_bump` is the Forward Factor
    an event in the front month gives the 30-60 pair (None: no event). `term_slope` and `iv_level`
    (a factor on the whole term structure) are the day's: they wander and mean-revert across days."""

    symbol: str
    price: float
    avg_volume: int
    volatility: float
    otc: bool
    has_options: bool
    expiry_class: ExpiryClass
    term_slope: float
    skew: float
    ff_bump: float | None
    jumps_per_session: float
    iv_level: float = 1.0


def _generated_symbols(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    letters = np.array(list(string.ascii_uppercase))
    symbols: list[str] = []
    while len(symbols) < count:
        length = int(rng.choice([1, 2, 3, 4, 5], p=[0.01, 0.07, 0.37, 0.45, 0.10]))
        symbol = "".join(rng.choice(letters, size=length))
        if symbol not in taken:
            taken.add(symbol)
            symbols.append(symbol)
    return symbols


def volatility_for(dollar_volume: np.ndarray, price: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Annualised volatility of generated names from their size (see TYPICAL_VOLATILITY) and one
    standard normal draw each."""
    typical = TYPICAL_VOLATILITY * (np.maximum(dollar_volume, 1.0) / TYPICAL_DOLLAR_VOLUME) ** -SIZE_ELASTICITY
    typical = np.maximum(typical, LARGE_CAP_FLOOR) * np.where(price < PENNY_PRICE, PENNY_FACTOR, 1.0)
    return np.clip(typical * np.exp(IDIOSYNCRATIC_SPREAD * draws), *VOLATILITY_RANGE)


def build_universe(seed: int, names: int = UNIVERSE_SIZE) -> dict[str, TickerProfile]:
    """The listing of ``names`` symbols (keyed and ordered by symbol): the default market's first
    ``names`` when fewer, those 600 unchanged plus blocks of further names when more."""
    if not len(WELL_KNOWN) <= names <= MAX_NAMES:
        raise ValueError(f"a market lists {len(WELL_KNOWN)} to {MAX_NAMES} names, not {names}")
    core, order = _default_universe(seed)
    if names <= UNIVERSE_SIZE:
        return {symbol: core[symbol] for symbol in sorted(order[:names])}
    weekly_volume = _weekly_volume_floor(core.values())
    profiles = dict(core)
    block = 0
    while len(profiles) < names:
        rng = derive_rng(seed, "universe", "extra", block)
        # A whole block is drawn even when fewer names are wanted: the same draws for any size.
        drawn = _generated_profiles(rng, EXTRA_BLOCK, set(profiles))
        for profile in drawn[: names - len(profiles)]:
            profiles[profile.symbol] = _extra_term_structure(rng, profile, weekly_volume)
        block += 1
    return dict(sorted(profiles.items()))


def _default_universe(seed: int) -> tuple[dict[str, TickerProfile], list[str]]:
    """The default market (the only one before larger ones existed: its draws must not change) and
    its symbols in the order they were drawn."""
    rng = derive_rng(seed, "universe")
    profiles: list[TickerProfile] = [
        TickerProfile(
            symbol=symbol,
            price=price,
            avg_volume=volume,
            volatility=vol,
            otc=False,
            has_options=True,
            expiry_class="daily" if symbol in INDEX_FUNDS else "weekly",
            term_slope=float(rng.uniform(0.02, 0.10)),
            skew=float(rng.uniform(0.05, 0.12)),
            ff_bump=None,
            jumps_per_session=float(rng.uniform(0.5, 2.0)),
        )
        for symbol, price, volume, vol in WELL_KNOWN
    ]
    profiles += _generated_profiles(rng, UNIVERSE_SIZE - len(profiles), {p.symbol for p in profiles})
    order = [profile.symbol for profile in profiles]
    return _assign_term_structures(rng, profiles), order


def _generated_profiles(rng: np.random.Generator, count: int, taken: set[str]) -> list[TickerProfile]:
    """``count`` made-up names not in ``taken`` (which grows by them), before their term structures."""
    symbols = _generated_symbols(rng, count, taken)
    prices = np.clip(np.exp(rng.normal(np.log(25.0), 1.2, count)), 0.35, 1500.0)
    # Pareto tail: a few names trade tens of millions of shares, most a few hundred thousand.
    volumes = np.clip(90_000 * (1.0 / rng.uniform(0.0005, 1.0, count)) ** (1 / 1.05), 2_000, 150_000_000)
    otc = rng.uniform(size=count) < 0.08
    liquid = (prices >= 3.0) & (volumes >= 150_000)
    has_options = ~otc & (rng.uniform(size=count) < np.where(liquid, 0.92, 0.25))
    vols = volatility_for(prices * volumes, prices, rng.standard_normal(count))
    profiles = []
    for i, symbol in enumerate(symbols):
        if otc[i] and len(symbol) == 5:
            # Foreign OTC names end in F or Y (unless that symbol is taken: then the drawn one stays).
            otc_symbol = symbol[:4] + ("F" if rng.uniform() < 0.7 else "Y")
            if otc_symbol not in taken:
                taken.add(otc_symbol)
                symbol = otc_symbol
        profiles.append(
            TickerProfile(
                symbol=symbol,
                price=float(np.round(prices[i] * (0.3 if otc[i] else 1.0), 2 if prices[i] >= 1 else 4)) or 0.05,
                avg_volume=int(volumes[i]),
                volatility=float(vols[i]),
                otc=bool(otc[i]),
                has_options=bool(has_options[i]),
                expiry_class="monthly",
                term_slope=0.0,
                skew=float(rng.uniform(0.04, 0.14)),
                ff_bump=None,
                jumps_per_session=float(rng.uniform(0.3, 3.0)),
            )
        )
    return profiles


def _assign_term_structures(rng: np.random.Generator, profiles: list[TickerProfile]) -> dict[str, TickerProfile]:
    """Weeklies for the most traded optionable names; mostly contango, some backwardation, and a
    seeded subset with an event bump in the front month."""
    optionable = sorted((p for p in profiles if p.has_options), key=lambda p: -p.avg_volume)
    weekly = {p.symbol for p in optionable[:WEEKLY_NAMES]}
    result: dict[str, TickerProfile] = {}
    for profile in sorted(profiles, key=lambda p: p.symbol):
        expiry_class = profile.expiry_class
        if profile.has_options and expiry_class == "monthly" and profile.symbol in weekly:
            expiry_class = "weekly"
        slope, ff_bump = _term_draws(rng, profile, expiry_class == "weekly")
        result[profile.symbol] = replace(profile, expiry_class=expiry_class, term_slope=slope, ff_bump=ff_bump)
    return result


def _term_draws(rng: np.random.Generator, profile: TickerProfile, weekly: bool) -> tuple[float, float | None]:
    """(term slope, event bump or None): 80 % contango, the rest backwardation; an event bump for
    15 % of the names with weeklies and 5 % of the others (index funds have none)."""
    draw = float(rng.uniform())
    ff_bump = None
    if draw < 0.80:
        slope = float(rng.uniform(0.02, 0.14))
    else:
        slope = float(rng.uniform(-0.10, -0.02))
    bump_rate = 0.15 if weekly else 0.05
    if profile.has_options and profile.symbol not in INDEX_FUNDS and rng.uniform() < bump_rate:
        ff_bump = float(rng.uniform(0.26, 0.54))
        slope = float(rng.uniform(0.02, 0.08))
    return slope, ff_bump


def _weekly_volume_floor(profiles: Iterable[TickerProfile]) -> int:
    """The average volume of the default market's 100th most traded optionable name: names added
    beyond it list weeklies from that volume up (the US lists weeklies on its most traded names)."""
    volumes = sorted((p.avg_volume for p in profiles if p.has_options), reverse=True)
    return volumes[min(WEEKLY_NAMES, len(volumes)) - 1]


def _extra_term_structure(rng: np.random.Generator, profile: TickerProfile, weekly_volume: int) -> TickerProfile:
    """A name beyond the default market's: weeklies by volume, then the default market's mix of
    contango, backwardation and event bumps."""
    weekly = profile.has_options and profile.avg_volume >= weekly_volume
    slope, ff_bump = _term_draws(rng, profile, weekly)
    return replace(profile, expiry_class="weekly" if weekly else "monthly", term_slope=slope, ff_bump=ff_bump)


def scenario_profile(
    symbol: str,
    price: float,
    volume: int,
    has_options: bool,
    ff_bump: float | None,
    volatility: float = 0.35,
    otc: bool = False,
    term_slope: float = 0.05,
) -> TickerProfile:
    """A hand-made ticker for tests and demos (e.g. FAKE1 with a known Forward Factor).

    `ff_bump` makes the front month rich with an earnings event; a negative `term_slope` makes it rich
    without one (an inverted term structure: about -0.5 gives the 30-60 pair an FF near 0.3), which
    then mean-reverts across days like any name's slope."""
    if not -0.9 < term_slope < 1.0:
        raise ValueError("term_slope must be between -0.9 and 1 (the back months' IV stays positive)")
    return TickerProfile(
        symbol=symbol,
        price=float(price),
        avg_volume=int(volume),
        volatility=float(volatility),
        otc=otc,
        has_options=has_options,
        expiry_class="weekly",
        term_slope=float(term_slope),
        skew=0.08,
        ff_bump=ff_bump,
        jumps_per_session=0.0,
    )
