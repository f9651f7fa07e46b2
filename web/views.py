"""The trader's pages. Every /me/ page reads and writes the signed-in user's own rows only; no page
calls the market-data vendor: they read stored rows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import AlertSettings, Subscription
from accounts.validators import normalize_ticker, validate_ticker
from alerts.models import Alert
from web import board
from web.following import follow_symbols
from web.forms import AlertSettingsForm, FollowForm
from web.preview import PREVIEW_DELAY, strongest_signals
from web.ticker_page import ticker_page
from web.track_record import csv_lines as track_record_lines
from web.track_record import track_record as track_record_of

ALERTS_PER_PAGE = 50


def home(request: HttpRequest) -> HttpResponse:
    context = {"preview": strongest_signals(timezone.now()), "delay_minutes": int(PREVIEW_DELAY.total_seconds() // 60)}
    return render(request, "web/home.html", context)


@login_required
def tickers(request: HttpRequest) -> HttpResponse:
    form = FollowForm(request.POST or None)
    outcome = None
    if request.method == "POST" and form.is_valid():
        outcome = follow_symbols(request.user, form.cleaned_data["tickers"])
        if not outcome.refused:
            if outcome.followed:
                messages.success(request, "Now following " + ", ".join(outcome.followed) + ".")
            if outcome.already:
                messages.info(request, "Already following " + ", ".join(outcome.already) + ".")
            return redirect("web:tickers")
        # Something was refused: show why, with the form kept for a correction.
        form = FollowForm(initial={"tickers": " ".join(refusal.symbol for refusal in outcome.refused)})
    subscriptions = Subscription.objects.filter(user=request.user).order_by("ticker")
    return render(request, "web/tickers.html", {"form": form, "outcome": outcome, "subscriptions": subscriptions})


@login_required
@require_POST
def unfollow(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
    subscription.delete()
    messages.success(request, f"No longer following {subscription.ticker}.")
    # The ticker page's button comes back to the ticker page; anything else to the list.
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("web:tickers")


def _symbol_or_404(raw: str) -> str:
    """The symbol as the site spells it (upper case); a malformed one is a page that does not exist."""
    symbol = normalize_ticker(raw)
    try:
        validate_ticker(symbol)
    except ValidationError:
        raise Http404("Not a ticker symbol.") from None
    return symbol


@login_required
def ticker(request: HttpRequest, symbol: str) -> HttpResponse:
    normalized = _symbol_or_404(symbol)
    if normalized != symbol:
        return redirect("web:ticker", symbol=normalized, permanent=True)
    page = ticker_page(normalized, request.user, timezone.now())
    if page is None:
        raise Http404(f"No ticker {normalized} is known here.")
    return render(request, "web/ticker.html", {"page": page})


@login_required
@require_POST
def follow_ticker(request: HttpRequest, symbol: str) -> HttpResponse:
    """The ticker page's Follow button: the same checks as a pasted list, back to the page."""
    symbol = _symbol_or_404(symbol)
    outcome = follow_symbols(request.user, [symbol])
    for refusal in outcome.refused:
        messages.error(request, f"{refusal.symbol} was not followed: {refusal.reason}.")
    if outcome.followed:
        messages.success(request, f"Now following {symbol}.")
    if outcome.already:
        messages.info(request, f"Already following {symbol}.")
    return redirect(reverse("web:ticker", args=[symbol]))


@login_required
def alert_settings(request: HttpRequest) -> HttpResponse:
    current, _ = AlertSettings.objects.select_related("user").get_or_create(user=request.user)
    form = AlertSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("web:settings")
    return render(request, "web/settings.html", {"form": form})


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    # An alert's delivery is its message's: one email per ticker per scan carries several alerts.
    own = Alert.objects.filter(user=request.user).select_related("message").order_by("-created_at", "-pk")
    page = Paginator(own, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/alerts.html", {"page": page})


# Seconds between the board's refreshes of its table (htmx polls the table's partial).
BOARD_REFRESH_SECONDS = 30


def _board_context(request: HttpRequest) -> dict:
    form = board.filter_form(request.GET)
    rows = board.board_rows(request.user, form)
    page = Paginator(rows, board.PER_PAGE).get_page(request.GET.get("page"))
    without_pair = board.tickers_without_pair(request.user, form)
    return {
        "form": form,
        "page": page,
        "sort": form.effective_sort,
        "headers": board.sort_links(form.effective_sort),
        "without_pair": without_pair[: board.NO_PAIR_SHOWN],
        "more_without_pair": len(without_pair) > board.NO_PAIR_SHOWN,
        "refresh_seconds": BOARD_REFRESH_SECONDS,
        "now": timezone.now(),
    }


@login_required
def signals(request: HttpRequest) -> HttpResponse:
    return render(request, "web/board.html", _board_context(request))


def signals_table(request: HttpRequest) -> HttpResponse:
    """The board's table alone, for its periodic refresh; the query string is the page's own."""
    if not request.user.is_authenticated:
        # Signed out while the page sat open: send the whole page to the login, not into the table.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to_login(request.get_full_path().replace("table/", "", 1)).url
        return response
    return render(request, "web/_board_table.html", _board_context(request))


@login_required
def signals_csv(request: HttpRequest) -> StreamingHttpResponse:
    form = board.filter_form(request.GET)
    response = StreamingHttpResponse(
        board.csv_lines(board.board_rows(request.user, form)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="signals.csv"'
    return response


def track_record(request: HttpRequest) -> HttpResponse:
    """The paper trades' results, public: a reader judges the alerts by them before signing up."""
    return render(request, "web/track_record.html", {"record": track_record_of(request.GET.get("page"))})


def track_record_csv(request: HttpRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(track_record_lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="paper-trades.csv"'
    return response
