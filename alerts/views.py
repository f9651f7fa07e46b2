"""User-facing views: the one-click unsubscribe behind every alert email's link and header."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts.emails import apply_unsubscribe, read_unsubscribe_token


# Exempt from CSRF: mail providers POST here with no cookie or form token (RFC 8058); the signed,
# expiring token in the URL is what authorises the change.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what would stop and a button (mail scanners follow links); POST unsubscribes."""
    try:
        scope = read_unsubscribe_token(token)
    except signing.SignatureExpired:
        return render(request, "alerts/unsubscribe_invalid.html", {"expired": True}, status=410)
    except signing.BadSignature:
        return render(request, "alerts/unsubscribe_invalid.html", {"expired": False}, status=400)
    if request.method == "GET":
        return render(request, "alerts/unsubscribe_confirm.html", {"scope": scope.describe()})
    if not apply_unsubscribe(scope):
        return render(request, "alerts/unsubscribe_invalid.html", {"expired": False}, status=404)
    return render(request, "alerts/unsubscribe_done.html", {"scope": scope.describe()})
