"""User-facing views behind the one-click links of every email: unsubscribe and (discovery) follow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts.links import read_follow_token, read_unsubscribe_token, ticker_url
from alerts.one_click import apply_follow, apply_unsubscribe


# Exempt from CSRF: mail providers POST here with no cookie or form token (RFC 8058), and the follow
# page is reached from an email without a session; the signed, expiring token in the URL is what
# authorises the change.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what would stop and a button (mail scanners follow links); POST unsubscribes."""
    return one_click(
        request,
        token,
        "unsubscribe",
        read_unsubscribe_token,
        apply_unsubscribe,
        lambda scope: {"scope": scope.describe()},
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (a mail scanner opening the link follows nothing); POST follows."""
    return one_click(
        request,
        token,
        "follow",
        read_follow_token,
        apply_follow,
        lambda invitation: {"ticker": invitation.ticker, "ticker_url": ticker_url(invitation.ticker)},
    )


def one_click(
    request: HttpRequest,
    token: str,
    action: str,
    read: Callable[[str], Any],
    apply: Callable[[Any], bool],
    context_of: Callable[[Any], dict],
    templates: str = "alerts",
) -> HttpResponse:
    """The flow of every emailed link: a bad or expired token says so; GET asks to confirm (templates
    ``<templates>/<action>_confirm.html``), POST applies and shows ``<templates>/<action>_done.html``.

    ``context_of`` raises Http404 and ``apply`` returns False when what the token names is gone.
    The site's own one-click links ("I placed this", web/) use this flow with their templates.
    """
    try:
        claim = read(token)
    except signing.SignatureExpired:
        return _invalid(request, action, expired=True)
    except signing.BadSignature:
        return _invalid(request, action, expired=False)
    try:
        context = context_of(claim)
    except Http404:
        return _invalid(request, action, expired=False, status=404)
    if request.method == "GET":
        return render(request, f"{templates}/{action}_confirm.html", context)
    if not apply(claim):
        return _invalid(request, action, expired=False, status=404)
    return render(request, f"{templates}/{action}_done.html", context)


# How the invalid-link page names a link whose action is not a plain word.
_LINK_NAMES = {"placed": "“I placed this”", "ignore": "“Ignore”"}


def _invalid(request: HttpRequest, action: str, expired: bool, status: int | None = None) -> HttpResponse:
    context = {"action": _LINK_NAMES.get(action, action), "expired": expired}
    return render(request, "alerts/link_invalid.html", context, status=status or (410 if expired else 400))
