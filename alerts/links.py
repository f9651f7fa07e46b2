"""Every link an email carries, in one place, and the signed tokens of the one-click ones.

The ticker page and the settings page belong to the trader's site; their addresses are fixed here
and stay stable. The one-click links (unsubscribe, follow) carry a signed, expiring token naming
the user and what the click does, so they work without logging in and cannot be forged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "alerts.emails.unsubscribe"  # the name it had when it lived there: old links stay valid
FOLLOW_SALT = "alerts.links.follow"


def ticker_url(symbol: str) -> str:
    return f"{settings.SITE_URL}/tickers/{symbol}/"


def settings_url() -> str:
    return f"{settings.SITE_URL}/me/settings/"


# --- unsubscribe ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribeScope:
    """What one unsubscribe link stops: following some tickers and/or discovery alerts."""

    user_id: int
    tickers: tuple[str, ...] = ()
    discovery: bool = False

    def describe(self) -> str:
        parts = []
        if self.tickers:
            parts.append("alerts for " + ", ".join(self.tickers) + " (you stop following them)")
        if self.discovery:
            parts.append("discovery alerts on names you do not follow")
        return " and ".join(parts) or "nothing"


def unsubscribe_token(scope: UnsubscribeScope) -> str:
    payload = {"u": scope.user_id, "t": list(scope.tickers), "d": int(scope.discovery)}
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> UnsubscribeScope:
    """The scope of a valid token; raises signing.BadSignature (SignatureExpired when too old)."""
    payload = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=settings.UNSUBSCRIBE_MAX_AGE_DAYS * 86400)
    try:
        return UnsubscribeScope(int(payload["u"]), tuple(str(t) for t in payload["t"]), bool(payload["d"]))
    except (KeyError, TypeError, ValueError):
        raise signing.BadSignature("unsubscribe token has an unexpected shape") from None


def unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("alerts:unsubscribe", args=[token])


# --- follow (discovery messages) -----------------------------------------------------------------


@dataclass(frozen=True)
class FollowInvitation:
    """A discovery message's offer to one user: follow this ticker."""

    user_id: int
    ticker: str


def follow_token(invitation: FollowInvitation) -> str:
    return signing.dumps({"u": invitation.user_id, "t": invitation.ticker}, salt=FOLLOW_SALT)


def read_follow_token(token: str) -> FollowInvitation:
    """The invitation of a valid token; raises signing.BadSignature (SignatureExpired when too old)."""
    payload = signing.loads(token, salt=FOLLOW_SALT, max_age=settings.FOLLOW_LINK_MAX_AGE_DAYS * 86400)
    try:
        return FollowInvitation(int(payload["u"]), str(payload["t"]))
    except (KeyError, TypeError, ValueError):
        raise signing.BadSignature("follow token has an unexpected shape") from None


def follow_url(token: str) -> str:
    return settings.SITE_URL + reverse("alerts:follow", args=[token])


# --- "I placed this" / "Ignore" (one pair per signal of a message) --------------------------------

TRADE_SALT = "alerts.links.trade"


@dataclass(frozen=True)
class TradeClaim:
    """One user's answer to one alert (a signal of a message): "I placed this" or "Ignore".

    The token names the alert, not the trade: the trade is recorded by the site when the user
    confirms, once per (user, alert) however often the link is clicked. One token serves both links
    (the path says which): either answer is the recipient's to give, and signing once per signal
    keeps a fan-out to thousands of users cheap.
    """

    user_id: int
    alert_id: int


def trade_token(claim: TradeClaim) -> str:
    return signing.dumps({"u": claim.user_id, "a": claim.alert_id}, salt=TRADE_SALT)


def read_trade_token(token: str) -> TradeClaim:
    """The claim of a valid token; raises signing.BadSignature (SignatureExpired when too old)."""
    payload = signing.loads(token, salt=TRADE_SALT, max_age=settings.PLACED_LINK_MAX_AGE_DAYS * 86400)
    try:
        return TradeClaim(int(payload["u"]), int(payload["a"]))
    except (KeyError, TypeError, ValueError):
        raise signing.BadSignature("trade token has an unexpected shape") from None


# The site's pages acting on them (web/): fixed paths, like the ticker page's.
def placed_url(token: str) -> str:
    return f"{settings.SITE_URL}/trades/placed/{token}/"


def ignore_url(token: str) -> str:
    return f"{settings.SITE_URL}/trades/ignore/{token}/"


def my_trades_url() -> str:
    return f"{settings.SITE_URL}/me/trades/"
