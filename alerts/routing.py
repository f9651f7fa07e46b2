"""Who should hear about a signal, judged by each user's own settings.

Recipients are (a) subscribers of the ticker whose criteria accept the signal and (b) users with
discovery mode on, when the ticker is in the discovery universe in force and FF reaches their
discovery threshold. A subscriber is never also routed as a discovery user. Users whose criteria are
identical are evaluated once, and loading the candidates takes a fixed number of queries whatever
the number of users.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from accounts.models import AlertSettings
from accounts.validators import parse_pair
from alerts.models import Alert
from discovery.models import UniverseMember, UniverseSnapshot
from scanner.engine import FFSignal, Leg

_SETTINGS_FIELDS = (
    "user_id",
    "user__email",
    "ff_threshold",
    "discovery_threshold",
    "pairs",
    "front_tolerance_days",
    "back_tolerance_days",
    "atm_call_calendar",
    "double_calendar",
    "min_open_interest",
    "min_volume",
    "max_spread_pct",
    "cooldown_minutes",
    "consecutive_scans",
    "quiet_hours_start",
    "quiet_hours_end",
    "timezone",
    "delivery",
    "daily_cap",
    "discovery_daily_cap",
)


@dataclass(frozen=True)
class Criteria:
    """What makes a signal interesting to a user. Users sharing these are evaluated once."""

    threshold: float
    pairs: frozenset[str]
    structures: frozenset[str]
    front_tolerance_days: int
    back_tolerance_days: int
    min_open_interest: int
    min_volume: int
    max_spread_pct: float

    def accepts(self, signal: FFSignal) -> bool:
        ff = signal["ff"]
        if ff is None or ff < self.threshold:
            return False
        if signal["pair"] not in self.pairs or signal["structure"] not in self.structures:
            return False
        front_target, back_target = parse_pair(signal["pair"])
        if abs(signal["front_dte"] - front_target) > self.front_tolerance_days:
            return False
        if abs(signal["back_dte"] - back_target) > self.back_tolerance_days:
            return False
        legs = signal["legs"]
        return bool(legs) and all(self._leg_is_liquid(leg) for leg in legs)

    def _leg_is_liquid(self, leg: Leg) -> bool:
        spread_pct = leg["spread_pct"]
        if not _known(spread_pct) or spread_pct > self.max_spread_pct:
            return False
        return _at_least(leg["open_interest"], self.min_open_interest) and _at_least(leg["volume"], self.min_volume)


def _known(value: float | None) -> bool:
    return value is not None and value == value  # NaN is not equal to itself


def _at_least(value: float | None, floor: float) -> bool:
    # A figure the vendor did not give passes only a floor of zero: never assume liquidity we did not see.
    return value >= floor if _known(value) else floor <= 0


@dataclass(frozen=True)
class Recipient:
    """A candidate for a ticker's signals, with the delivery preferences the no-spam rules need."""

    user_id: int
    email: str
    kind: str  # Alert.Kind
    criteria: Criteria
    cooldown_minutes: int
    consecutive_scans: int
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    timezone: str
    delivery: str
    daily_cap: int
    discovery_daily_cap: int


def candidate_recipients(ticker: str, day: date) -> list[Recipient]:
    """Subscribers of ``ticker`` and, when it is in the universe in force on ``day``, discovery users.

    Three queries, whatever the number of users.
    """
    active = AlertSettings.objects.filter(user__is_active=True)
    subscribers = active.filter(user__subscriptions__ticker=ticker).values(*_SETTINGS_FIELDS)
    recipients = [_recipient(row, Alert.Kind.SUBSCRIPTION) for row in subscribers]
    if in_discovery_universe(ticker, day):
        explorers = (
            active.filter(user__discovery_mode=True)
            .exclude(user__subscriptions__ticker=ticker)
            .values(*_SETTINGS_FIELDS)
        )
        recipients.extend(_recipient(row, Alert.Kind.DISCOVERY) for row in explorers)
    return recipients


def in_discovery_universe(ticker: str, day: date) -> bool:
    """Whether ``ticker`` belongs to the universe in force on trading day ``day`` (newest snapshot on or before it)."""
    in_force = UniverseSnapshot.objects.filter(session_date__lte=day).order_by("-session_date").values("pk")[:1]
    return UniverseMember.objects.filter(snapshot=in_force, ticker=ticker).exists()


def route_signals(signals: Sequence[FFSignal], recipients: Sequence[Recipient]) -> dict[int, list[Recipient]]:
    """Signal index -> accepted recipients, for every signal of a scan."""
    groups: dict[Criteria, list[Recipient]] = defaultdict(list)
    for recipient in recipients:
        groups[recipient.criteria].append(recipient)
    routed: dict[int, list[Recipient]] = {}
    for index, signal in enumerate(signals):
        accepted = [r for criteria, members in groups.items() if criteria.accepts(signal) for r in members]
        if accepted:
            routed[index] = accepted
    return routed


def _recipient(row: dict, kind: str) -> Recipient:
    structures = frozenset(
        name
        for name, enabled in (
            ("atm_call_calendar", row["atm_call_calendar"]),
            ("double_calendar", row["double_calendar"]),
        )
        if enabled
    )
    threshold = row["ff_threshold"] if kind == Alert.Kind.SUBSCRIPTION else row["discovery_threshold"]
    return Recipient(
        user_id=row["user_id"],
        email=row["user__email"],
        kind=kind,
        criteria=Criteria(
            threshold=threshold,
            pairs=frozenset(row["pairs"] or ()),
            structures=structures,
            front_tolerance_days=row["front_tolerance_days"],
            back_tolerance_days=row["back_tolerance_days"],
            min_open_interest=row["min_open_interest"],
            min_volume=row["min_volume"],
            max_spread_pct=row["max_spread_pct"],
        ),
        cooldown_minutes=row["cooldown_minutes"],
        consecutive_scans=row["consecutive_scans"],
        quiet_hours_start=row["quiet_hours_start"],
        quiet_hours_end=row["quiet_hours_end"],
        timezone=row["timezone"],
        delivery=row["delivery"],
        daily_cap=row["daily_cap"],
        discovery_daily_cap=row["discovery_daily_cap"],
    )
