"""What the ticker page shows, read from stored rows only (never the vendor), in a fixed number of queries.

The last finished scan says how the ticker stands now; when it found nothing to evaluate (no pair,
no data, a failure) the charts and tickets come from the last scan that did (``ok``), and the page
says why the newer one gave nothing. The FF history is one query over the ticker's signals of the
last HISTORY_DAYS, whatever their number: a few columns, never the signals' JSON. Days whose signals
were pruned (scanner.retention) come from their daily rollups in the same query: one point a day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import AlertSettings, Subscription, User
from alerts.models import Alert
from alerts.ticket import order_ticket
from scanner.models import EarningsEvent, OptionableUnderlying, RetentionProgress, Scan, Signal, SignalDay, Ticker
from web.templatetags.trader_format import structure_label

NEW_YORK = ZoneInfo("America/New_York")
HISTORY_DAYS = 90
ALERTS_SHOWN = 20
EARNINGS_SHOWN = 4
STRUCTURE_ORDER = {"atm_call_calendar": 0, "double_calendar": 1}
# What a trader reads when the latest scan evaluated nothing; its notes or error say the particulars.
OUTCOME_WHY = {
    Scan.Outcome.NO_PAIR: "no listed expiries fit any of the scanned DTE pairs",
    Scan.Outcome.NO_DATA: "the market data held no usable quotes for it",
    Scan.Outcome.FAILED: "the market data could not be fetched",
}


@dataclass(frozen=True)
class CurrentSignal:
    """One pair and structure of the last evaluated scan, with its order ticket."""

    signal: Signal
    ticket: str

    @property
    def data(self) -> dict:
        return self.signal.data

    @property
    def forward_iv_pct(self) -> float | None:
        forward = self.signal.data.get("forward_iv")
        return None if forward is None else forward * 100


@dataclass
class TickerPage:
    symbol: str
    latest: Scan | None  # the last finished scan, whatever its outcome
    evaluated: Scan | None  # the last scan that evaluated pairs (the charts' and tickets' source)
    current: list[CurrentSignal]
    earnings: list[EarningsEvent]
    earnings_answer: str  # Ticker.earnings_answer: "" never asked, "vendor", "not_entitled"
    alerts: list[Alert]
    subscription: Subscription | None
    threshold: float
    term_chart: dict = field(default_factory=dict)
    history_chart: dict = field(default_factory=dict)

    @property
    def why_nothing(self) -> str:
        """Why the latest scan evaluated no pair; empty when it did."""
        if self.latest is None or self.latest.outcome == Scan.Outcome.OK:
            return ""
        return OUTCOME_WHY.get(self.latest.outcome, self.latest.outcome)

    @property
    def latest_outcome(self) -> str:
        return self.latest.outcome.replace("_", " ") if self.latest else ""

    @property
    def latest_details(self) -> list[str]:
        if self.latest is None:
            return []
        return [line for line in (self.latest.notes or self.latest.error).splitlines() if line.strip()]

    @property
    def earnings_unknown(self) -> bool:
        """No date known and nobody could tell: not the same as "no earnings ahead"."""
        return not self.earnings and self.earnings_answer != "vendor"


def ticker_page(symbol: str, user: User, now: datetime) -> TickerPage | None:
    """The page of a well-formed, upper-case symbol; None for a symbol the service has never heard of.

    Earnings "ahead" are those on or after the latest scan's trading day (the data's own day: the
    simulated market's may be far from the wall clock's), or ``now``'s without a scan."""
    finished = Scan.objects.filter(ticker=symbol).exclude(outcome=Scan.Outcome.RUNNING).order_by("-started_at")
    latest = finished.first()
    seen = Ticker.objects.filter(symbol=symbol).values_list("earnings_answer", flat=True).first()
    if latest is None and seen is None and not OptionableUnderlying.objects.filter(symbol=symbol).exists():
        return None
    today = _new_york_day((latest.as_of or latest.started_at) if latest else now)
    evaluated = latest
    if latest is not None and latest.outcome != Scan.Outcome.OK:
        evaluated = finished.filter(outcome=Scan.Outcome.OK).first()
    signals = list(evaluated.signals.all()) if evaluated else []
    signals.sort(key=lambda s: (_pair_key(s.pair), STRUCTURE_ORDER.get(s.structure, 9)))
    threshold = AlertSettings.objects.filter(user=user).values_list("ff_threshold", flat=True).first()
    if threshold is None:
        threshold = AlertSettings._meta.get_field("ff_threshold").default
    page = TickerPage(
        symbol=symbol,
        latest=latest,
        evaluated=evaluated,
        current=[CurrentSignal(s, order_ticket(s.data)) for s in signals],
        earnings=list(EarningsEvent.objects.filter(ticker=symbol, date__gte=today).order_by("date")[:EARNINGS_SHOWN]),
        earnings_answer=seen or "",
        alerts=list(
            Alert.objects.filter(user=user, ticker=symbol)
            .select_related("message")
            .order_by("-created_at")[:ALERTS_SHOWN]
        ),
        subscription=Subscription.objects.filter(user=user, ticker=symbol).first(),
        threshold=threshold,
    )
    page.term_chart = term_chart(evaluated, signals)
    page.history_chart = history_chart(symbol, threshold, evaluated.as_of if evaluated else None)
    return page


def _new_york_day(moment: datetime) -> date:
    return moment.astimezone(NEW_YORK).date()


def _pair_key(pair: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in pair.split("-"))
    except ValueError:
        return (10_000,)


def term_chart(scan: Scan | None, signals: list[Signal]) -> dict:
    """ATM IV by DTE, and each pair's forward vol between its front and back expiries.

    One segment a pair: the ATM call calendar's forward vol (ATM at the forward, as the term points
    are), the double calendar's only when the pair has no call calendar."""
    if scan is None:
        return {"points": [], "forwards": []}
    points = [
        {"dte": p["dte"], "iv": p["atm_iv"], "expiry": p["expiry"], "source": p.get("source", "chain")}
        for p in scan.term_structure or []
    ]
    by_pair: dict[str, Signal] = {}
    for signal in signals:
        if signal.data.get("forward_iv") is None:
            continue
        held = by_pair.get(signal.pair)
        if held is None or STRUCTURE_ORDER.get(signal.structure, 9) < STRUCTURE_ORDER.get(held.structure, 9):
            by_pair[signal.pair] = signal
    forwards = [
        {
            "pair": pair,
            "front_dte": s.data["front_dte"],
            "back_dte": s.data["back_dte"],
            "front_expiry": s.data["front_expiry"],
            "back_expiry": s.data["back_expiry"],
            "forward_iv": s.data["forward_iv"],
        }
        for pair, s in sorted(by_pair.items(), key=lambda item: _pair_key(item[0]))
    ]
    return {"points": points, "forwards": forwards}


def history_chart(symbol: str, threshold: float, last: datetime | None) -> dict:
    """FF over time, one series per pair and structure, over the HISTORY_DAYS before the last evaluated scan:
    every stored signal, and each rolled-up day's last FF at its time.

    Times are Unix seconds (what the chart's time axis reads); an FF of None (inverted, below the
    forward-vol floor) is a gap."""
    if last is None:
        return {"threshold": threshold, "series": []}
    since = last - timedelta(days=HISTORY_DAYS)
    # Signals behind the pruning mark are in the rollups already (the few kept for alerts and trades too).
    rolled_up = Coalesce(Subquery(RetentionProgress.objects.values("through_scan_id")[:1]), Value(0))
    stored = Signal.objects.filter(ticker=symbol, as_of__gt=since, as_of__lte=last, scan_id__gt=rolled_up)
    daily = SignalDay.objects.filter(ticker=symbol, last_as_of__gt=since, last_as_of__lte=last)
    rows = (
        stored.values_list("pair", "structure", "as_of", "ff")
        .union(daily.values_list("pair", "structure", "last_as_of", "ff_last"), all=True)
        .order_by("as_of")
    )
    series: dict[tuple[str, str], list[list]] = {}
    for pair, structure, as_of, ff in rows:
        series.setdefault((pair, structure), []).append([int(as_of.timestamp()), ff])
    ordered = sorted(series.items(), key=lambda item: (_pair_key(item[0][0]), STRUCTURE_ORDER.get(item[0][1], 9)))
    return {
        "threshold": threshold,
        "series": [
            {"label": f"{pair} {structure_label(structure)}", "pair": pair, "structure": structure, "points": points}
            for (pair, structure), points in ordered
        ],
    }
