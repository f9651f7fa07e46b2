"""Alert emails: building the messages, sending a batch over one connection, and the .eml file backend.

A message is rendered from subject/text/HTML templates. Within a batch the templates are rendered
once per (signal, kind, threshold) and only the recipient's unsubscribe link is filled in per
message, which is what makes a fan-out to thousands of users cheap. Every message carries
``List-Unsubscribe`` (a signed, expiring link) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058), and a Message-ID derived from the alert, so a re-send in the one remaining duplicate window
carries the same Message-ID.
"""

from __future__ import annotations

import html
import logging
import os
import re
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import Exists, OuterRef
from django.template.loader import get_template
from django.urls import reverse

from accounts.models import Subscription
from alerts import outbox
from alerts.models import Alert
from scanner.engine import FFSignal
from scanner.models import Signal

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "alerts.emails.unsubscribe"
# Rendered into the templates in place of each recipient's own link, then replaced per message.
_LINK_PLACEHOLDER = "https://unsubscribe.invalid/link"
STRUCTURE_LABELS = {"atm_call_calendar": "ATM call calendar", "double_calendar": "double calendar"}


# --- unsubscribe links --------------------------------------------------------------------------


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


def scope_for(user_id: int, alerts: Iterable[Alert]) -> UnsubscribeScope:
    """A subscription alert unsubscribes from its ticker; a discovery alert from discovery mode."""
    tickers = sorted({a.ticker for a in alerts if a.kind == Alert.Kind.SUBSCRIPTION})
    discovery = any(a.kind == Alert.Kind.DISCOVERY for a in alerts)
    return UnsubscribeScope(user_id, tuple(tickers), discovery)


# --- message building ---------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or value != value else f"{value:,.{digits}f}"


def _optional_number(value: float | None) -> str | None:
    """None for a figure the templates leave out when unknown (they print "n/a" for the rest)."""
    return None if value is None else _number(value)


def _count(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{int(value):,}"


def signal_context(signal: FFSignal) -> dict:
    """The template view of an engine signal: labels and formatted figures."""
    double = signal["structure"] == "double_calendar"
    strikes = _number(signal["strike"])
    if double and signal.get("put_strike") is not None:
        strikes = f"{_number(signal['strike'])} call / {_number(signal.get('put_strike'))} put"
    legs = [
        {
            "leg": leg["leg"],
            "contract_type": leg["contract_type"],
            "expiry": leg["expiry"],
            "strike": _number(leg["strike"]),
            "bid": _number(leg["bid"]),
            "ask": _number(leg["ask"]),
            "mid": _number(leg["mid"]),
            "spread_pct": _number(leg["spread_pct"], 1) + "%",
            "open_interest": _count(leg["open_interest"]),
            "volume": _count(leg["volume"]),
            "iv": _percent(leg["iv"]),
        }
        for leg in signal["legs"]
    ]
    return {
        "ticker": signal["ticker"],
        "structure": STRUCTURE_LABELS.get(signal["structure"], signal["structure"]),
        "double": double,
        "pair": signal["pair"],
        "front_expiry": signal["front_expiry"],
        "back_expiry": signal["back_expiry"],
        "front_dte": signal["front_dte"],
        "back_dte": signal["back_dte"],
        "strikes": strikes,
        "front_iv": _percent(signal["front_iv"]),
        "back_iv": _percent(signal["back_iv"]),
        "forward_iv": _percent(signal["forward_iv"]),
        "ff": _number(signal["ff"]),
        "call_ff": _number(signal.get("call_ff")),
        "put_ff": _number(signal.get("put_ff")),
        "ff_constant_maturity": _optional_number(signal["ff_constant_maturity"]),
        "ff_ex_earnings": _optional_number(signal["ff_ex_earnings"]),
        "debit": _number(signal["debit"]),
        "underlying_price": _number(signal["underlying_price"]),
        "as_of": signal["as_of"],
        "flags": list(signal["flags"]),
        "legs": legs,
    }


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class AlertMessages:
    """Builds alert and digest messages; renders each (signal, kind, threshold) variant once.

    An alert variant is also turned into MIME bytes once (``MailMerge``); each recipient's message is
    those bytes with its own To, unsubscribe link and Message-ID.
    """

    def __init__(self) -> None:
        self._alert_templates = [
            get_template(f"alerts/email/alert_{part}") for part in ("subject.txt", "body.txt", "body.html")
        ]
        self._digest_templates = [
            get_template(f"alerts/email/digest_{part}") for part in ("subject.txt", "body.txt", "body.html")
        ]
        self._variants: dict[tuple[int, str, float], tuple[Rendered, MailMerge | None]] = {}
        self._contexts: dict[int, dict] = {}
        self._from = settings.DEFAULT_FROM_EMAIL
        self._domain = (
            parseaddr(self._from)[1].rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"
        )

    def alert(self, alert: Alert, signal: FFSignal, threshold: float, to: str) -> EmailMessage:
        key = (alert.signal_id, alert.kind, threshold)
        variant = self._variants.get(key)
        if variant is None:
            context = {
                "s": self._signal_context(alert.signal_id, signal),
                "discovery": alert.kind == Alert.Kind.DISCOVERY,
                "threshold": _number(threshold),
                "unsubscribe_url": _LINK_PLACEHOLDER,
            }
            rendered = self._render(self._alert_templates, context)
            variant = self._variants[key] = (
                rendered,
                MailMerge.build(self._message(rendered, *MailMerge.PLACEHOLDERS)),
            )
        rendered, merge = variant
        link = unsubscribe_url(unsubscribe_token(scope_for(alert.user_id, [alert])))
        # Stable for re-sends of this alert; the creation time keeps it unique if an id is ever reused.
        message_id = f"<alert-{alert.pk}.{alert.created_at:%Y%m%d%H%M%S%f}@{self._domain}>"
        if merge is not None and MailMerge.fits(to):
            return merge.personalize(to, link, message_id)
        return self._message(rendered, to, link, message_id)

    def digest(
        self, alerts: Sequence[Alert], signals: dict[int, FFSignal], thresholds: dict[str, float], to: str
    ) -> EmailMessage:
        items = [
            {
                "s": self._signal_context(a.signal_id, signals[a.signal_id]),
                "discovery": a.kind == Alert.Kind.DISCOVERY,
                "threshold": _number(thresholds[a.kind]),
            }
            for a in alerts
        ]
        context = {
            "items": items,
            "count": len(items),
            "tickers": sorted({a.ticker for a in alerts}),
            "unsubscribe_url": _LINK_PLACEHOLDER,
        }
        rendered = self._render(self._digest_templates, context)
        ids = [a.pk for a in alerts]
        link = unsubscribe_url(unsubscribe_token(scope_for(alerts[0].user_id, alerts)))
        return self._message(rendered, to, link, f"<digest-{ids[0]}-{ids[-1]}-{len(ids)}@{self._domain}>")

    def _signal_context(self, signal_id: int, signal: FFSignal) -> dict:
        context = self._contexts.get(signal_id)
        if context is None:
            context = self._contexts[signal_id] = signal_context(signal)
        return context

    @staticmethod
    def _render(templates, context: dict) -> Rendered:
        subject, text, body = (template.render(context) for template in templates)
        return Rendered(" ".join(subject.split()), text, body)

    def _message(self, rendered: Rendered, to: str, link: str, message_id: str) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text.replace(_LINK_PLACEHOLDER, link),
            from_email=self._from,
            to=[to],
            headers={
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Message-ID": message_id,
            },
        )
        message.attach_alternative(rendered.html.replace(_LINK_PLACEHOLDER, html.escape(link)), "text/html")
        return message


class MailMerge:
    """A message built once with placeholders, personalised per recipient by replacing bytes.

    Building MIME (header folding, encoding) costs more than everything else per message in a
    fan-out. Placeholders are plain ASCII and survive as is in 7bit/8bit bodies; if the encoder
    touched one (quoted-printable for long lines or non-ASCII text), ``build`` returns None and
    messages are built one by one.
    """

    TO = "recipient@mail-merge.invalid"
    MESSAGE_ID = "<message-id@mail-merge.invalid>"
    PLACEHOLDERS = (TO, _LINK_PLACEHOLDER, MESSAGE_ID)

    def __init__(self, raw: bytes, from_email: str) -> None:
        self._raw = raw
        self._from = from_email

    @classmethod
    def build(cls, message: EmailMultiAlternatives) -> MailMerge | None:
        raw = message.message().as_bytes(linesep="\r\n")
        head = raw.partition(b"\r\n\r\n")[0] + b"\r\n"
        intact = (
            b"\r\nTo: " + cls.TO.encode() + b"\r\n" in head
            and b"\r\nMessage-ID: " + cls.MESSAGE_ID.encode() + b"\r\n" in head
            and raw.count(_LINK_PLACEHOLDER.encode()) == 3  # header, text and HTML
        )
        return cls(raw, message.from_email) if intact else None

    @staticmethod
    def fits(address: str) -> bool:
        """Addresses that go into a header verbatim (no encoding, no folding characters)."""
        return address.isascii() and not any(c in address for c in '\r\n"<>,;()')

    def personalize(self, to: str, link: str, message_id: str) -> EmailMessage:
        raw = (
            self._raw.replace(self.TO.encode(), to.encode(), 1)
            .replace(self.MESSAGE_ID.encode(), message_id.encode(), 1)
            .replace(_LINK_PLACEHOLDER.encode(), link.encode())
        )
        return MergedEmail(raw, self._from, to, message_id)


class MergedEmail(EmailMessage):
    """An EmailMessage whose MIME form is ready-made bytes; any Django email backend can send it."""

    def __init__(self, raw: bytes, from_email: str, to: str, message_id: str) -> None:
        super().__init__(from_email=from_email, to=[to], headers={"Message-ID": message_id})
        self._raw = raw

    def message(self) -> _ReadyMime:  # type: ignore[override]
        return _ReadyMime(self._raw, self.extra_headers)


class _ReadyMime:
    """The part of email.message.Message the backends use: as_bytes() and header lookup."""

    def __init__(self, raw: bytes, headers: dict[str, str]) -> None:
        self._raw = raw
        self._headers = headers

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self._raw if linesep == "\r\n" else self._raw.replace(b"\r\n", linesep.encode())

    def __getitem__(self, name: str) -> str | None:
        return self._headers.get(name)


# --- sending ------------------------------------------------------------------------------------


@dataclass
class BatchReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "cancelled": self.cancelled}


def send_alert_batch(alert_ids: Sequence[int], token: str) -> BatchReport:
    """Claim the alerts for ``token`` and send one message each over one connection.

    An SMTP or network failure that may pass (4xx, disconnects, refused connections) propagates after
    being recorded on the alerts still held: the task retries them under the same token. A permanent
    refusal of one message (5xx for its recipient or data) fails that alert only.
    """
    held = outbox.claim_pending(alert_ids, token)
    report = BatchReport()
    if not held:
        return report
    alerts, signals = _load(held)
    alerts, report.cancelled = _drop_unwanted(alerts, token)
    if not alerts:
        return report
    builder = AlertMessages()
    # Built as they go out: the first message does not wait for the rest of the batch.
    outgoing = (
        ([alert.pk], builder.alert(alert, signals[alert.signal_id], _thresholds(alert)[alert.kind], alert.user.email))
        for alert in alerts
    )
    _send(outgoing, token, report)
    return report


def send_digest_batch(user_ids: Sequence[int], token: str, now: datetime) -> BatchReport:
    """One digest per user of the held alerts that are due (quiet hours over, or digest time)."""
    held = outbox.claim_due_held(user_ids, token, now)
    report = BatchReport()
    if not held:
        return report
    alerts, signals = _load(held)
    alerts, report.cancelled = _drop_unwanted(alerts, token)
    by_user: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_user[alert.user_id].append(alert)
    if not by_user:
        return report
    builder = AlertMessages()
    outgoing = []
    for user_alerts in by_user.values():
        user_alerts.sort(key=lambda a: (-a.ff, a.pk))
        first = user_alerts[0]
        message = builder.digest(user_alerts, signals, _thresholds(first), first.user.email)
        outgoing.append(([a.pk for a in user_alerts], message))
    _send(outgoing, token, report)
    return report


def _load(alert_ids: Sequence[int]) -> tuple[list[Alert], dict[int, FFSignal]]:
    """The alerts with their users, settings and whether the user still follows the ticker; signal data by id."""
    following = Subscription.objects.filter(user_id=OuterRef("user_id"), ticker=OuterRef("ticker"))
    alerts = list(
        Alert.objects.filter(pk__in=alert_ids)
        .select_related("user__alert_settings")
        .annotate(followed=Exists(following))
        .order_by("pk")
    )
    signal_ids = {alert.signal_id for alert in alerts}
    signals = dict(Signal.objects.filter(pk__in=signal_ids).values_list("pk", "data"))
    return alerts, signals


def _thresholds(alert: Alert) -> dict[str, float]:
    user_settings = alert.user.alert_settings
    return {
        Alert.Kind.SUBSCRIPTION: user_settings.ff_threshold,
        Alert.Kind.DISCOVERY: user_settings.discovery_threshold,
    }


def _drop_unwanted(alerts: list[Alert], token: str) -> tuple[list[Alert], int]:
    """Cancel alerts whose user unsubscribed (or was deactivated) after they were created."""

    def wanted(alert: Alert) -> bool:
        if not alert.user.is_active:
            return False
        if alert.kind == Alert.Kind.DISCOVERY:
            return alert.user.discovery_mode
        return alert.followed  # annotated by _load

    keep = [a for a in alerts if wanted(a)]
    dropped = [a.pk for a in alerts if not wanted(a)]
    if dropped:
        outbox.mark_cancelled(dropped, token, "the user unsubscribed before it was sent")
    return keep, len(dropped)


def _send(outgoing: Iterable[tuple[list[int], EmailMessage]], token: str, report: BatchReport) -> None:
    connection = get_connection()
    try:
        connection.open()
        with outbox.relaxed_commits():
            _send_each(connection, outgoing, token, report)
    except (smtplib.SMTPException, OSError) as exc:
        outbox.record_attempt_error(token, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            pass


def _send_each(connection, outgoing: Iterable[tuple[list[int], EmailMessage]], token: str, report: BatchReport) -> None:
    for alert_ids, message in outgoing:
        try:
            connection.send_messages([message])
        except smtplib.SMTPException as exc:
            refusal = permanent_refusal(exc)
            if refusal is None:
                raise
            logger.warning("alerts %s not delivered: %s", alert_ids, refusal)
            report.failed += outbox.mark_failed(alert_ids, token, refusal)
            continue
        # The window: SMTP accepted the message; until this UPDATE commits, a kill means a resend.
        report.sent += outbox.mark_sent(alert_ids, token)


def permanent_refusal(exc: smtplib.SMTPException) -> str | None:
    """The error text when the server refused this one message for good (5xx); None when worth a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return f"recipient refused: {exc.recipients}"
    elif isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
        return f"message refused: {exc.smtp_code} {exc.smtp_error!r}"
    return None


# --- the .eml file backend ----------------------------------------------------------------------

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class EmlFileBackend(BaseEmailBackend):
    """Writes each message to its own ``.eml`` file in EMAIL_FILE_PATH (opens in any mail client).

    Files are named after the Message-ID, so writing the same alert twice leaves one file.
    """

    def __init__(self, file_path: str | None = None, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            mime = message.message()
            name = _UNSAFE_FILENAME.sub("_", (mime["Message-ID"] or uuid.uuid4().hex).strip("<>")) + ".eml"
            target = self.directory / name
            temporary = target.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(mime.as_bytes(linesep="\n"))
            temporary.replace(target)
            written += 1
        return written


# --- honouring an unsubscribe -------------------------------------------------------------------


def apply_unsubscribe(scope: UnsubscribeScope) -> bool:
    """Stop what the scope names; False when the user no longer exists. Repeating it changes nothing."""
    from accounts.models import User

    updated = User.objects.filter(pk=scope.user_id)
    if not updated.exists():
        return False
    if scope.tickers:
        # Deleted one by one so the subscription receivers (watch set) hear about each.
        for subscription in Subscription.objects.filter(user_id=scope.user_id, ticker__in=scope.tickers):
            subscription.delete()
    if scope.discovery:
        updated.update(discovery_mode=False)
    return True
