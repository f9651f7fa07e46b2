"""User-facing views behind the one-click links of every email: unsubscribe and (discovery) follow."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts.links import read_follow_token, read_unsubscribe_token, ticker_url
from alerts.one_click import apply_follow, apply_unsubscribe


# Exempt from CSRF: mail providers POST here with no cookie or form token (RFC 8058); the signed,
# expiring token in the URL is what authorises the change.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what would stop and a button (mail scanners follow links); POST unsubscribes."""
    try:
        scope = read_unsubscribe_token(token)
    except signing.SignatureExpired:
        return _invalid(request, "unsubscribe", expired=True)
    except signing.BadSignature:
        return _invalid(request, "unsubscribe", expired=False)
    if request.method == "GET":
        return render(request, "alerts/unsubscribe_confirm.html", {"scope": scope.describe()})
    if not apply_unsubscribe(scope):
        return _invalid(request, "unsubscribe", expired=False, status=404)
    return render(request, "alerts/unsubscribe_done.html", {"scope": scope.describe()})


# Exempt from CSRF for the same reason: the confirm page is reached from an email, without a session.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (a mail scanner opening the link follows nothing); POST follows."""
    try:
        invitation = read_follow_token(token)
    except signing.SignatureExpired:
        return _invalid(request, "follow", expired=True)
    except signing.BadSignature:
        return _invalid(request, "follow", expired=False)
    context = {"ticker": invitation.ticker, "ticker_url": ticker_url(invitation.ticker)}
    if request.method == "GET":
        return render(request, "alerts/follow_confirm.html", context)
    if not apply_follow(invitation):
        return _invalid(request, "follow", expired=False, status=404)
    return render(request, "alerts/follow_done.html", context)


def _invalid(request: HttpRequest, action: str, expired: bool, status: int | None = None) -> HttpResponse:
    context = {"action": action, "expired": expired}
    return render(request, "alerts/link_invalid.html", context, status=status or (410 if expired else 400))
