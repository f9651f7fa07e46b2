"""The board (/signals/): the latest signal of every scanned ticker x pair x structure, filtered and sorted
in SQL over the read model (scanner.models.LatestSignal), the signed-in user's tickers first.

A filter value that does not parse is left out (the form shows why); an unknown sort is the default.
The queries do not depend on the number of rows: a page is one count and one select, whatever the size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import get_args

from django import forms
from django.db.models import BooleanField, Case, F, OrderBy, QuerySet, Subquery, Value, When

from accounts.models import Subscription, User
from discovery.models import UniverseMember, UniverseSnapshot
from scanner.engine.signal import Structure
from scanner.models import LatestSignal, Scan, Ticker

PER_PAGE = 50
NO_PAIR_SHOWN = 20
DEFAULT_SORT = "-ff"


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    descending_first: bool  # the first click on a figure shows the strongest first
    numeric: bool = False


# Every column the board sorts by: the whitelist of ?sort= (a leading "-" reverses it).
COLUMNS = (
    Column("ticker", "Ticker", False),
    Column("pair", "Pair (days)", False),
    Column("structure", "Structure", False),
    Column("ff", "FF", True, numeric=True),
    Column("ff_ex_earnings", "FF ex-earnings", True, numeric=True),
    Column("forward_iv", "Forward IV", True, numeric=True),
    Column("spread_cost_pct", "Spread cost", False, numeric=True),
    Column("passes_liquidity", "Liquidity", True),
    Column("earnings_date", "Earnings", False),
    Column("as_of", "Data age", True),
)
SORTABLE = {column.field for column in COLUMNS}


def _pair_order(pair: str) -> tuple[int, ...]:
    try:
        return tuple(int(days) for days in pair.split("-"))
    except ValueError:
        return (10**6,)


class BoardFilterForm(forms.Form):
    pair = forms.ChoiceField(required=False)
    structure = forms.ChoiceField(
        required=False,
        choices=[("", "any structure")] + [(s, s.replace("_", " ")) for s in get_args(Structure)],
    )
    min_ff = forms.FloatField(
        label="Min FF", required=False, widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "e.g. 0.2"})
    )
    liquid = forms.BooleanField(label="Liquid only", required=False)
    mine = forms.BooleanField(label="My tickers", required=False)
    universe = forms.BooleanField(label="Discovery universe", required=False)
    sort = forms.ChoiceField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, pairs: list[str]) -> None:
        super().__init__(data)
        self.fields["pair"].choices = [("", "any pair")] + [(p, f"{p} days") for p in pairs]
        self.fields["sort"].choices = [(f"{sign}{field}", "") for field in SORTABLE for sign in ("", "-")]
        self.is_valid()  # cleaned_data holds the values that parse; errors say what was left out

    def value(self, name: str):
        return self.cleaned_data.get(name) if name not in self.errors else None

    @property
    def effective_sort(self) -> str:
        return self.value("sort") or DEFAULT_SORT


def pairs_on_board() -> list[str]:
    pairs = LatestSignal.objects.order_by().values_list("pair", flat=True).distinct()
    return sorted(pairs, key=_pair_order)


def filter_form(params) -> BoardFilterForm:
    return BoardFilterForm(params, pairs_on_board())


def _followed(user: User) -> QuerySet:
    return Subscription.objects.filter(user=user).values("ticker")


def _latest_universe() -> QuerySet:
    latest = UniverseSnapshot.objects.order_by("-session_date").values("pk")[:1]
    return UniverseMember.objects.filter(snapshot=Subquery(latest)).values("ticker")


def _order(sort: str) -> list[OrderBy]:
    field = sort.lstrip("-")
    expression = F(field).desc(nulls_last=True) if sort.startswith("-") else F(field).asc(nulls_last=True)
    # Ties stay in one order from page to page.
    return [F("followed").desc(), expression, F("ticker").asc(), F("pair").asc(), F("structure").asc()]


def board_rows(user: User, form: BoardFilterForm) -> QuerySet:
    """The board's rows under the form's filters, the user's own tickers first, then the chosen sort."""
    rows = LatestSignal.objects.annotate(
        followed=Case(
            When(ticker__in=_followed(user), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )
    if form.value("pair"):
        rows = rows.filter(pair=form.value("pair"))
    if form.value("structure"):
        rows = rows.filter(structure=form.value("structure"))
    if form.value("min_ff") is not None:
        rows = rows.filter(ff__gte=form.value("min_ff"))
    if form.value("liquid"):
        rows = rows.filter(passes_liquidity=True)
    rows = _ticker_filters(rows, "ticker", user, form)
    return rows.order_by(*_order(form.effective_sort))


def _ticker_filters(rows: QuerySet, field: str, user: User, form: BoardFilterForm) -> QuerySet:
    if form.value("mine"):
        rows = rows.filter(**{f"{field}__in": _followed(user)})
    if form.value("universe"):
        rows = rows.filter(**{f"{field}__in": _latest_universe()})
    return rows


def tickers_without_pair(user: User, form: BoardFilterForm) -> list[Ticker]:
    """Tickers whose latest scan found no expiry pair within tolerance (one more than shown: "and more")."""
    tickers = (
        Ticker.objects.filter(last_scan__outcome=Scan.Outcome.NO_PAIR)
        .select_related("last_scan")
        .only("symbol", "last_scan__notes", "last_scan__as_of", "last_scan__finished_at")
        .annotate(
            followed=Case(
                When(symbol__in=_followed(user), then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
    )
    tickers = _ticker_filters(tickers, "symbol", user, form)
    return list(tickers.order_by("-followed", "symbol")[: NO_PAIR_SHOWN + 1])


def sort_links(current: str) -> list[dict]:
    """Each column's header: its ?sort= when clicked, and the arrow of the current sort."""
    links = []
    for column in COLUMNS:
        if current.lstrip("-") == column.field:
            descending = current.startswith("-")
            target = column.field if descending else f"-{column.field}"
            arrow = "▼" if descending else "▲"
        else:
            target = f"-{column.field}" if column.descending_first else column.field
            arrow = ""
        links.append({"column": column, "sort": target, "arrow": arrow})
    return links


CSV_HEADER = (
    "ticker",
    "pair",
    "structure",
    "front_expiry",
    "back_expiry",
    "ff",
    "ff_ex_earnings",
    "forward_iv",
    "spread_cost_pct",
    "passes_liquidity",
    "reasons",
    "earnings_date",
    "as_of",
    "followed",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: QuerySet) -> Iterator[str]:
    """The filtered board as CSV lines, streamed (the whole set, not one page)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                row.ticker,
                row.pair,
                row.structure,
                row.front_expiry.isoformat(),
                row.back_expiry.isoformat(),
                _number(row.ff),
                _number(row.ff_ex_earnings),
                _number(row.forward_iv),
                _number(row.spread_cost_pct),
                "yes" if row.passes_liquidity else "no",
                "; ".join(row.reasons or []),
                row.earnings_date.isoformat() if row.earnings_date else "",
                row.as_of.isoformat(),
                "yes" if row.followed else "no",
            ]
        )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
