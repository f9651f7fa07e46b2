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

from django.conf import settings

from accounts.models import AlertSettings, User
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
    "max_spread_cost_pct",
    "earnings_policy",
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
    max_spread_cost_pct: float = 25.0
    earnings_policy: str = AlertSettings.EarningsPolicy.EX_EARNINGS

    def accepts(self, signal: FFSignal) -> bool:
        return not self.rejections(signal)

    def rejections(self, signal: FFSignal) -> list[str]:
        """Why the signal does not reach a user with these criteria, one line a reason; empty: it does."""
        reasons = []
        if "stale_quotes" in signal["flags"]:
            # Stale quotes make fake FF: never alerted, whatever the user's settings.
            reasons.append(f"stale quotes: a leg was quoted more than {settings.STALE_QUOTE_MINUTES:g} minutes before")
        if signal["pair"] not in self.pairs:
            reasons.append(f"pair {signal['pair']} is not among your pairs")
        else:
            front_target, back_target = parse_pair(signal["pair"])
            for side, dte, target, tolerance in (
                ("front", signal["front_dte"], front_target, self.front_tolerance_days),
                ("back", signal["back_dte"], back_target, self.back_tolerance_days),
            ):
                if abs(dte - target) > tolerance:
                    reasons.append(f"{side} expiry {dte} DTE is outside your {target}±{tolerance} days")
        if signal["structure"] not in self.structures:
            reasons.append(f"{signal['structure'].replace('_', ' ')} is off in your settings")
        reasons += self._ff_rejections(signal)
        legs = signal["legs"]
        if not legs:
            reasons.append("no legs")
        for leg in legs:
            reasons += self._leg_rejections(leg)
        cost = signal["spread_cost_pct"]
        if not _known(cost):
            reasons.append("spread cost unknown (the mid debit is not positive)")
        elif cost > self.max_spread_cost_pct:
            reasons.append(f"spread cost {cost:.0f}% > your {self.max_spread_cost_pct:g}%")
        return reasons

    def judged_ff(self, signal: FFSignal) -> float | None:
        """The FF this user's earnings policy judges: the ex-earnings FF when earnings fall inside the
        window (policy ex_earnings), else the signal's own; None when there is none to judge."""
        in_window = "earnings_in_window" in signal["flags"]
        if in_window and self.earnings_policy == AlertSettings.EarningsPolicy.SKIP:
            return None
        if in_window and self.earnings_policy == AlertSettings.EarningsPolicy.EX_EARNINGS:
            return signal["ff_ex_earnings"]
        return signal["ff"]

    def _ff_rejections(self, signal: FFSignal) -> list[str]:
        in_window = "earnings_in_window" in signal["flags"]
        earnings = ", ".join(signal["earnings_dates"]) or "a date"
        if in_window and self.earnings_policy == AlertSettings.EarningsPolicy.SKIP:
            return [f"earnings ({earnings}) inside the window: you skip such pairs"]
        ff = self.judged_ff(signal)
        ex_earnings = in_window and self.earnings_policy == AlertSettings.EarningsPolicy.EX_EARNINGS
        label = "ex-earnings FF" if ex_earnings else "FF"
        if ff is None:
            if ex_earnings:
                return [f"earnings ({earnings}) inside the window and no ex-earnings FF (move unknown)"]
            return ["no FF (inverted, forward vol below the floor, or no IV)"]
        if ff < self.threshold:
            return [f"{label} {ff:.2f} < your {self.threshold:.2f}"]
        return []

    def _leg_rejections(self, leg: Leg) -> list[str]:
        name, reasons = leg["leg"].replace("_", " "), []
        spread_pct = leg["spread_pct"]
        if not _known(spread_pct):
            reasons.append(f"{name} spread unknown")
        elif spread_pct > self.max_spread_pct:
            reasons.append(f"{name} spread {spread_pct:.1f}% of mid > your {self.max_spread_pct:g}%")
        for label, value, floor in (
            ("open interest", leg["open_interest"], self.min_open_interest),
            ("volume", leg["volume"], self.min_volume),
        ):
            if not _at_least(value, floor):
                shown = f"{value:g}" if _known(value) else "unknown"
                reasons.append(f"{name} {label} {shown} < your {floor:g}")
        return reasons


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

    Three queries, whatever the number of users. Only users whose login address is verified: an alert
    service must not be a way to mail strangers (double opt-in).
    """
    verified = User.objects.with_verified_email().values("pk")
    active = AlertSettings.objects.filter(user__is_active=True, user__in=verified)
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
            max_spread_cost_pct=row["max_spread_cost_pct"],
            earnings_policy=row["earnings_policy"],
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
