"""A user's placed trades: the one-click "I placed this" / "Ignore" links of alert emails, and /me/trades/.

The links' tokens are alerts' (alerts.links: the email is theirs) and the trades trades'; the site joins
the two: a token names the user's alert, whose signal is the spread placed. The links work signed out
(like unsubscribe): GET shows a confirm page, POST records; a forged or expired token gets a clear page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from alerts import links, ticket
from alerts.models import Alert
from alerts.views import one_click
from market.clock import market_now
from trades import placed
from trades.models import PlacedTrade
from web.forms import OwnFillForm


def _alert(claim: links.TradeClaim) -> Alert:
    """The user's alert the token names, with its signal; 404 when it (or the user) is gone."""
    alert = (
        Alert.objects.filter(pk=claim.alert_id, user_id=claim.user_id, user__is_active=True)
        .select_related("signal")
        .first()
    )
    if alert is None:
        raise Http404("No such alert.")
    return alert


def _context(claim: links.TradeClaim) -> dict:
    alert = _alert(claim)
    existing = PlacedTrade.objects.filter(user_id=claim.user_id, alert_id=alert.pk).first()
    return {
        "alert": alert,
        "ticket": ticket.order_ticket(alert.signal.data),
        "existing": existing,
        "my_trades_url": links.my_trades_url(),
    }


def _place(claim: links.TradeClaim) -> bool:
    try:
        alert = _alert(claim)
    except Http404:
        return False
    placed.place(claim.user_id, alert.pk, alert.signal, market_now())
    return True


def _ignore(claim: links.TradeClaim) -> bool:
    try:
        alert = _alert(claim)
    except Http404:
        return False
    placed.ignore(claim.user_id, alert.pk, alert.signal, market_now())
    return True


# Exempt from CSRF as the other emailed links: reached from an email without a session; the signed,
# expiring token naming the user and the alert is what authorises the change.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def placed_link(request: HttpRequest, token: str) -> HttpResponse:
    return one_click(request, token, "placed", links.read_trade_token, _place, _context, templates="web")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def ignore_link(request: HttpRequest, token: str) -> HttpResponse:
    return one_click(request, token, "ignore", links.read_trade_token, _ignore, _context, templates="web")


# --- /me/trades/ ----------------------------------------------------------------------------------


def marks_of(trade: PlacedTrade) -> list:
    """Its marks, oldest first: the paper trade's since the alert's quotes (shared), then its own."""
    shared = list(trade.paper_trade.marks.filter(at__gt=trade.quoted_at)) if trade.paper_trade_id else []
    return sorted([*shared, *trade.marks.all()], key=lambda mark: mark.at)


@login_required
def my_trades(request: HttpRequest) -> HttpResponse:
    own = PlacedTrade.objects.filter(user=request.user)
    return render(
        request,
        "web/my_trades.html",
        {
            "open": own.filter(status=PlacedTrade.Status.OPEN),
            "closed": own.filter(status=PlacedTrade.Status.CLOSED),
            "ignored": own.filter(status=PlacedTrade.Status.IGNORED),
        },
    )


@login_required
def my_trade(request: HttpRequest, pk: int) -> HttpResponse:
    """One trade: its marks and P&L, the "enter my fill" form (POST) and the "I closed it" button."""
    trade = get_object_or_404(PlacedTrade, pk=pk, user=request.user)  # another user's trade: 404
    form = OwnFillForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            placed.set_own_fill(trade, float(form.cleaned_data["fill"]))
            messages.success(request, f"Your fill of ${trade.own_fill:,.2f} a share is recorded.")
            return redirect("web:my_trade", pk=trade.pk)
        status = 400
    else:
        status = 200
    context = {"trade": trade, "marks": marks_of(trade), "form": form, "reminders": trade.reminders.all()}
    return render(request, "web/my_trade.html", context, status=status)


@login_required
@require_POST
def close_trade(request: HttpRequest, pk: int) -> HttpResponse:
    trade = get_object_or_404(PlacedTrade, pk=pk, user=request.user)
    if placed.close(trade, market_now()):
        messages.success(request, f"{trade.ticker} {trade.pair} closed: no more reminders for it.")
    else:
        messages.info(request, f"{trade.ticker} {trade.pair} was not open.")
    return redirect("web:my_trade", pk=trade.pk)
