"""The trader's pages. Every /me/ page reads and writes the signed-in user's own rows only; no page
calls the market-data vendor: they read stored rows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import AlertSettings, Subscription
from alerts.models import Alert
from web import board
from web.following import follow_symbols
from web.forms import AlertSettingsForm, FollowForm
from web.preview import PREVIEW_DELAY, strongest_signals

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
    return redirect("web:tickers")


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
