"""Emails: building the messages, sending a batch over one connection, and the .eml file backend.

A message tells one user about one ticker of one scan: every pair and structure that passed for
them, strongest first, each as an order ticket with its IVs, FF, costs and legs; the spot, the
earnings date and the data time (New York); links to the ticker page, the user's settings, (discovery)
a one-click "follow", the unsubscribe link, and under each signal the user's own one-click "I placed
this" and "Ignore" links (signed, naming the user's alert of that signal). Templates are rendered once per (signals, kind,
threshold) within a batch and only the recipient's own links and Message-ID are filled in per
message, which is what makes a fan-out to thousands of users cheap. Every message carries
``List-Unsubscribe`` (a signed, expiring link) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058), and the Message-ID fixed when the message was created, so a re-send in the one remaining
duplicate window carries the same Message-ID.
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
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError
from django.db.models import Exists, OuterRef
from django.template.loader import get_template

from accounts.models import Subscription
from alerts import links, outbox, receipts, ticket
from alerts.models import Alert, Message, message_domain
from scanner.engine import FFSignal
from scanner.models import EarningsEvent, Signal

logger = logging.getLogger(__name__)

# Rendered into the templates in place of each recipient's own links, then replaced per message.
_LINK_PLACEHOLDER = "https://unsubscribe.invalid/link"
_FOLLOW_PLACEHOLDER = "https://follow.invalid/link"


def _placed_placeholder(index: int) -> str:
    """The n-th signal's "I placed this" link in a shared rendering ("/1/" is no prefix of "/11/")."""
    return f"https://placed.invalid/{index}/link"


def _ignore_placeholder(index: int) -> str:
    return f"https://ignore.invalid/{index}/link"


STRUCTURE_LABELS = {"atm_call_calendar": "ATM call calendar", "double_calendar": "double calendar"}
FLAG_LABELS = {
    "stale_quotes": "stale quotes",
    "iv_solved_from_mid": "IV solved from the bid/ask mid",
    "inverted": "inverted term structure",
}
EARNINGS_TIMES = {
    "before_open": "before the open",
    "after_close": "after the close",
    "during_session": "during the session",
}


def simulated_data() -> bool:
    """Whether the figures come from the simulated market: every email then says so."""
    return bool(getattr(settings, "MARKET_SIMULATED", False))


def scope_for(user_id: int, messages: Iterable[Message]) -> links.UnsubscribeScope:
    """A subscription message unsubscribes from its ticker; a discovery message from discovery mode."""
    tickers = sorted({m.ticker for m in messages if m.kind == Message.Kind.SUBSCRIPTION})
    discovery = any(m.kind == Message.Kind.DISCOVERY for m in messages)
    return links.UnsubscribeScope(user_id, tuple(tickers), discovery)


# --- what a message shows ------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or value != value else f"{value:,.{digits}f}"


def _optional_number(value: float | None) -> str | None:
    """None for a figure the templates leave out when unknown (they print "n/a" for the rest)."""
    return None if value is None else _number(value)


def _count(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{int(value):,}"


def _sides(signal: FFSignal) -> list[dict]:
    """IV front / back / forward: ATM (at the forward) for a call calendar, call side and put side for a double."""
    if signal["structure"] != "double_calendar":
        return [
            {
                "label": "ATM ",
                "front": _percent(signal["front_iv"]),
                "back": _percent(signal["back_iv"]),
                "forward": _percent(signal["forward_iv"]),
            }
        ]
    ivs = {leg["leg"]: leg["iv"] for leg in signal["legs"]}
    return [
        {
            "label": f"{side} side ",
            "front": _percent(ivs.get(f"front_{side}")),
            "back": _percent(ivs.get(f"back_{side}")),
            "forward": _percent(signal.get(f"{side}_forward_iv")),
        }
        for side in ("call", "put")
    ]


def _costs(signal: FFSignal) -> str | None:
    natural = signal.get("debit_natural")
    if natural is None:
        return None
    line = f"natural debit (buy at the ask, sell at the bid) {ticket.dollars(natural)} a share"
    spread_cost = signal.get("spread_cost_pct")
    if spread_cost is not None:
        line += f", {spread_cost:.0f}% above the mid"
    return line


def signal_context(signal: FFSignal) -> dict:
    """The template view of an engine signal: the order ticket, labels and formatted figures."""
    flags = list(signal["flags"])
    legs = [
        {
            "action": ticket.action(leg),
            "contract": ticket.contract(signal["ticker"], leg),
            "bid": _number(leg["bid"]),
            "ask": _number(leg["ask"]),
            "spread_pct": _number(leg["spread_pct"], 1) + "%",
            "open_interest": _count(leg["open_interest"]),
            "volume": _count(leg["volume"]),
            "iv": _percent(leg["iv"]),
        }
        for leg in ticket.ordered_legs(signal)
    ]
    return {
        "ticker": signal["ticker"],
        "structure": STRUCTURE_LABELS.get(signal["structure"], signal["structure"]),
        "double": signal["structure"] == "double_calendar",
        "pair": signal["pair"],
        "front_dte": signal["front_dte"],
        "back_dte": signal["back_dte"],
        "ticket": ticket.order_ticket(signal),
        "sides": _sides(signal),
        "ff": _number(signal["ff"]),
        "call_ff": _number(signal.get("call_ff")),
        "put_ff": _number(signal.get("put_ff")),
        "ff_constant_maturity": _optional_number(signal["ff_constant_maturity"]),
        "ff_ex_earnings": _optional_number(signal["ff_ex_earnings"]),
        "earnings_in_window": "earnings_in_window" in flags,
        "costs": _costs(signal),
        "notes": [FLAG_LABELS.get(f, f.replace("_", " ")) for f in flags if f != "earnings_in_window"],
        "legs": legs,
    }


def earnings_line(event: EarningsEvent | None) -> str:
    """The next earnings as a trader needs it, or that we do not know it (never "no earnings")."""
    if event is None:
        return "Earnings date unknown"
    # Time of day and confirmation come from the vendor; rows from the admin or a CSV may lack them.
    when = EARNINGS_TIMES.get(getattr(event, "time_of_day", ""), "time of day unknown")
    status = getattr(event, "status", "")
    return f"Earnings {ticket.short_date(event.date)}, {when}" + (f" ({status})" if status else "")


def next_earnings(tickers: Iterable[str], on_or_after: date) -> dict[str, list[EarningsEvent]]:
    """Known earnings of these tickers from ``on_or_after`` on, soonest first; one query."""
    events: dict[str, list[EarningsEvent]] = defaultdict(list)
    for event in EarningsEvent.objects.filter(ticker__in=set(tickers), date__gte=on_or_after).order_by("date"):
        events[event.ticker].append(event)
    return events


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class MessageBuilder:
    """Builds messages and digests; renders each (signals, kind, threshold) variant of a message once.

    A variant is also turned into MIME bytes once (``MailMerge``); each recipient's message is those
    bytes with its own To, links and Message-ID.
    """

    def __init__(self, signals: dict[int, FFSignal], earnings: dict[str, list[EarningsEvent]]) -> None:
        self._message_templates = [
            get_template(f"alerts/email/message_{part}") for part in ("subject.txt", "body.txt", "body.html")
        ]
        self._digest_templates = [
            get_template(f"alerts/email/digest_{part}") for part in ("subject.txt", "body.txt", "body.html")
        ]
        self._signals = signals
        self._earnings = earnings
        self._variants: dict[tuple, tuple[Rendered, MailMerge | None]] = {}
        self._contexts: dict[int, dict] = {}
        self._from = settings.DEFAULT_FROM_EMAIL
        self._simulated = simulated_data()
        self._common = {
            "simulated": self._simulated,
            "settings_url": links.settings_url(),
            "unsubscribe_url": _LINK_PLACEHOLDER,
        }

    def message(
        self, message: Message, signal_ids: Sequence[int], threshold: float, to: str, alert_ids: Sequence[int]
    ) -> EmailMessage:
        """``alert_ids``: the user's alert of each signal, in the order of ``signal_ids``."""
        key = (tuple(signal_ids), message.kind, threshold)
        variant = self._variants.get(key)
        if variant is None:
            section = self._section(message, signal_ids, threshold)
            rendered = self._render(self._message_templates, {**self._common, "t": section})
            # Every per-recipient link appears twice: once in the text part, once in the HTML part.
            placeholders = dict.fromkeys(self._placeholders(message, len(signal_ids)), 2)
            variant = self._variants[key] = (
                rendered,
                MailMerge.build(
                    self._message(rendered, MailMerge.TO, _LINK_PLACEHOLDER, MailMerge.MESSAGE_ID), placeholders
                ),
            )
        rendered, merge = variant
        link = links.unsubscribe_url(links.unsubscribe_token(scope_for(message.user_id, [message])))
        own_links = dict(zip(self._placeholders(message, len(signal_ids)), self._own_links(message, alert_ids)))
        if merge is not None and MailMerge.fits(to):
            return merge.personalize(to, link, message.message_id, own_links)
        return self._message(rendered, to, link, message.message_id, own_links)

    @staticmethod
    def _placeholders(message: Message, signals: int) -> list[str]:
        """The shared rendering's stand-ins for one recipient's links, in the order ``_own_links`` fills them."""
        follow = [_FOLLOW_PLACEHOLDER] if message.kind == Message.Kind.DISCOVERY else []
        return follow + [f(i) for i in range(signals) for f in (_placed_placeholder, _ignore_placeholder)]

    def _own_links(self, message: Message, alert_ids: Sequence[int]) -> list[str]:
        follow = [self._follow_url(message)] if message.kind == Message.Kind.DISCOVERY else []
        return follow + [url for alert_id in alert_ids for url in _trade_links(message.user_id, alert_id)]

    def digest(
        self,
        messages: Sequence[Message],
        signal_ids: dict[int, list[int]],
        thresholds: dict[str, float],
        to: str,
        alert_ids: dict[int, list[int]],
    ) -> EmailMessage:
        """One email of a user's held messages, a section per ticker, strongest first."""
        sections = [
            self._section(m, signal_ids[m.pk], thresholds[m.kind], own_alert_ids=alert_ids[m.pk]) for m in messages
        ]
        context = {
            **self._common,
            "sections": sections,
            "count": sum(len(s["items"]) for s in sections),
            "tickers": [s["ticker"] for s in sections],
        }
        rendered = self._render(self._digest_templates, context)
        link = links.unsubscribe_url(links.unsubscribe_token(scope_for(messages[0].user_id, messages)))
        ids = sorted(m.pk for m in messages)
        message_id = f"<digest-{ids[0]}-{ids[-1]}-{len(ids)}@{message_domain()}>"
        return self._message(rendered, to, link, message_id)

    def _section(
        self, message: Message, signal_ids: Sequence[int], threshold: float, own_alert_ids: Sequence[int] | None = None
    ) -> dict:
        """One ticker of one scan: what the message (or a digest, per ticker) shows.

        With ``own_alert_ids`` (a digest, built per user) the links are the user's own; without (a
        message's shared rendering) they are placeholders filled in per recipient.
        """
        with_follow = own_alert_ids is not None
        items = []
        for index, pk in enumerate(signal_ids):
            if own_alert_ids is None:
                placed, ignore = _placed_placeholder(index), _ignore_placeholder(index)
            else:
                placed, ignore = _trade_links(message.user_id, own_alert_ids[index])
            items.append({**self._signal_context(pk), "placed_url": placed, "ignore_url": ignore})
        first = self._signals[signal_ids[0]]
        upcoming = [e for e in self._earnings.get(message.ticker, ()) if e.date >= message.trading_day]
        discovery = message.kind == Message.Kind.DISCOVERY
        return {
            "ticker": message.ticker,
            "discovery": discovery,
            "threshold": _number(threshold),
            "items": items,
            "best": items[0],
            "more": len(items) - 1,
            "spot": ticket.dollars(first["underlying_price"]),
            "as_of": ticket.new_york_time(first["as_of"]),
            "earnings": earnings_line(upcoming[0] if upcoming else None),
            "ticker_url": links.ticker_url(message.ticker),
            "follow_url": (self._follow_url(message) if with_follow else _FOLLOW_PLACEHOLDER) if discovery else None,
        }

    @staticmethod
    def _follow_url(message: Message) -> str:
        return links.follow_url(links.follow_token(links.FollowInvitation(message.user_id, message.ticker)))

    def _signal_context(self, signal_id: int) -> dict:
        context = self._contexts.get(signal_id)
        if context is None:
            context = self._contexts[signal_id] = signal_context(self._signals[signal_id])
        return context

    @staticmethod
    def _render(templates, context: dict) -> Rendered:
        subject, text, body = (template.render(context) for template in templates)
        return Rendered(" ".join(subject.split()), text, body)

    def _message(
        self, rendered: Rendered, to: str, link: str, message_id: str, own_links: dict[str, str] | None = None
    ) -> EmailMultiAlternatives:
        """``own_links``: each placeholder of the rendering and the recipient's link that replaces it."""
        text, body = (
            rendered.text.replace(_LINK_PLACEHOLDER, link),
            rendered.html.replace(_LINK_PLACEHOLDER, html.escape(link)),
        )
        for placeholder, url in (own_links or {}).items():
            text, body = text.replace(placeholder, url), body.replace(placeholder, html.escape(url))
        message = EmailMultiAlternatives(
            subject=rendered.subject,
            body=text,
            from_email=self._from,
            to=[to],
            headers={
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Message-ID": message_id,
            },
        )
        message.attach_alternative(body, "text/html")
        return message


def _trade_links(user_id: int, alert_id: int) -> tuple[str, str]:
    """The user's "I placed this" and "Ignore" links of one alert."""
    token = links.trade_token(links.TradeClaim(user_id, alert_id))
    return links.placed_url(token), links.ignore_url(token)


class MailMerge:
    """A message built once with placeholders, personalised per recipient by replacing bytes.

    Building MIME (header folding, encoding) costs more than everything else per message in a
    fan-out. Placeholders are plain ASCII and survive as is in 7bit/8bit bodies; if the encoder
    touched one (quoted-printable for long lines or non-ASCII text), ``build`` returns None and
    messages are built one by one.
    """

    TO = "recipient@mail-merge.invalid"
    MESSAGE_ID = "<message-id@mail-merge.invalid>"
    FOLLOW = _FOLLOW_PLACEHOLDER

    def __init__(self, raw: bytes, from_email: str) -> None:
        self._raw = raw
        self._from = from_email

    @classmethod
    def build(cls, message: EmailMultiAlternatives, body_links: dict[str, int]) -> MailMerge | None:
        """``body_links``: further placeholders and how many times they must appear intact."""
        raw = message.message().as_bytes(linesep="\r\n")
        head = raw.partition(b"\r\n\r\n")[0] + b"\r\n"
        expected = {_LINK_PLACEHOLDER: 3, **body_links}  # the unsubscribe link: header, text and HTML
        intact = (
            b"\r\nTo: " + cls.TO.encode() + b"\r\n" in head
            and b"\r\nMessage-ID: " + cls.MESSAGE_ID.encode() + b"\r\n" in head
            and all(raw.count(placeholder.encode()) == n for placeholder, n in expected.items())
        )
        return cls(raw, message.from_email) if intact else None

    @staticmethod
    def fits(address: str) -> bool:
        """Addresses that go into a header verbatim (no encoding, no folding characters)."""
        return address.isascii() and not any(c in address for c in '\r\n"<>,;()')

    def personalize(self, to: str, link: str, message_id: str, own_links: dict[str, str] | None = None) -> EmailMessage:
        raw = (
            self._raw.replace(self.TO.encode(), to.encode(), 1)
            .replace(self.MESSAGE_ID.encode(), message_id.encode(), 1)
            .replace(_LINK_PLACEHOLDER.encode(), link.encode())
        )
        # Signed tokens are URL-safe ASCII: the same bytes in the text and (unescaped) HTML parts.
        for placeholder, url in (own_links or {}).items():
            raw = raw.replace(placeholder.encode(), url.encode())
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
    sent: int = 0  # messages accepted by the SMTP server (a digest counts the messages it carries)
    failed: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "cancelled": self.cancelled}


@dataclass
class Loaded:
    """Claimed messages with what their emails need, loaded in a fixed number of queries."""

    messages: list[Message]
    signal_ids: dict[int, list[int]]  # message id -> its alerts' signals, strongest (judged FF) first
    alert_ids: dict[int, list[int]]  # message id -> its alerts, in the same order
    strongest: dict[int, float]  # message id -> its first alert's judged FF
    signals: dict[int, FFSignal]
    earnings: dict[str, list[EarningsEvent]]

    def builder(self) -> MessageBuilder:
        return MessageBuilder(self.signals, self.earnings)


def send_message_batch(message_ids: Sequence[int], token: str) -> BatchReport:
    """Claim the messages for ``token`` and send them over one connection.

    An SMTP or network failure that may pass (4xx, disconnects, refused connections) propagates after
    being recorded on the messages still held: the task retries them under the same token. A permanent
    refusal of one message (5xx for its recipient or data) fails that message only.
    """
    report = BatchReport()
    held = _unsent(outbox.claim_pending(message_ids, token), token, report)
    if not held:
        return report
    loaded = _load(held)
    messages, report.cancelled = _drop_unwanted(loaded.messages, token)
    if not messages:
        return report
    builder = loaded.builder()
    # Built as they go out: the first message does not wait for the rest of the batch.
    outgoing = (
        (
            [message],
            builder.message(
                message,
                loaded.signal_ids[message.pk],
                _threshold(message),
                message.user.email,
                loaded.alert_ids[message.pk],
            ),
        )
        for message in messages
    )
    _send(outgoing, token, report)
    return report


def send_digest_batch(user_ids: Sequence[int], token: str, now: datetime) -> BatchReport:
    """One digest per user of the held messages that are due (quiet hours over, or digest time)."""
    report = BatchReport()
    held = _unsent(outbox.claim_due_held(user_ids, token, now), token, report)
    if not held:
        return report
    loaded = _load(held)
    messages, report.cancelled = _drop_unwanted(loaded.messages, token)
    by_user: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_user[message.user_id].append(message)
    if not by_user:
        return report
    builder = loaded.builder()
    outgoing = []
    for user_messages in by_user.values():
        user_messages.sort(key=lambda m: (-loaded.strongest[m.pk], m.pk))
        first = user_messages[0]
        thresholds = {kind: _threshold(first, kind) for kind in Message.Kind.values}
        email = builder.digest(user_messages, loaded.signal_ids, thresholds, first.user.email, loaded.alert_ids)
        outgoing.append((user_messages, email))
    _send(outgoing, token, report)
    return report


def _unsent(held: Sequence[int], token: str, report: BatchReport) -> list[int]:
    """The claimed messages still to send: those the SMTP server already accepted (a retry after the
    database failed to record it) are marked sent instead of being sent again."""
    headers = dict(Message.objects.filter(pk__in=held).values_list("pk", "message_id"))
    accepted_headers = receipts.accepted_among(list(headers.values()))
    accepted = sorted(pk for pk, header in headers.items() if header in accepted_headers)
    if accepted:
        report.sent += outbox.mark_sent(accepted, token)
    return [message_id for message_id in held if message_id not in accepted]


def _load(message_ids: Sequence[int]) -> Loaded:
    """The messages with their users, settings and whether the user still follows the ticker; their
    alerts' signals, strongest first; the signals' data; the tickers' coming earnings. Four queries."""
    following = Subscription.objects.filter(user_id=OuterRef("user_id"), ticker=OuterRef("ticker"))
    messages = list(
        Message.objects.filter(pk__in=message_ids)
        .select_related("user__alert_settings")
        .annotate(followed=Exists(following))
        .order_by("pk")
    )
    signal_ids: dict[int, list[int]] = defaultdict(list)
    alert_ids: dict[int, list[int]] = defaultdict(list)
    strongest: dict[int, float] = {}
    # Strongest first by the FF the user was alerted on (ex-earnings under that policy), as planned.
    rows = (
        Alert.objects.filter(message_id__in=message_ids)
        .order_by("-ff_judged", "pk")
        .values_list("message_id", "signal_id", "pk", "ff_judged")
    )
    for message_id, signal_id, alert_id, judged in rows:
        signal_ids[message_id].append(signal_id)
        alert_ids[message_id].append(alert_id)
        strongest.setdefault(message_id, judged)
    wanted = {pk for ids in signal_ids.values() for pk in ids}
    signals = dict(Signal.objects.filter(pk__in=wanted).values_list("pk", "data"))
    earliest = min((m.trading_day for m in messages), default=date.min)
    earnings = next_earnings({m.ticker for m in messages}, earliest)
    return Loaded(messages, signal_ids, alert_ids, strongest, signals, earnings)


def _threshold(message: Message, kind: str | None = None) -> float:
    user_settings = message.user.alert_settings
    if (kind or message.kind) == Message.Kind.DISCOVERY:
        return user_settings.discovery_threshold
    return user_settings.ff_threshold


def _drop_unwanted(messages: list[Message], token: str) -> tuple[list[Message], int]:
    """Cancel messages whose user unsubscribed (or was deactivated) after they were created."""

    def wanted(message: Message) -> bool:
        if not message.user.is_active:
            return False
        if message.kind == Message.Kind.DISCOVERY:
            return message.user.discovery_mode
        return message.followed  # annotated by _load

    keep = [m for m in messages if wanted(m)]
    dropped = [m.pk for m in messages if not wanted(m)]
    if dropped:
        outbox.mark_cancelled(dropped, token, "the user unsubscribed before it was sent")
    return keep, len(dropped)


def _send(outgoing: Iterable[tuple[list[Message], EmailMessage]], token: str, report: BatchReport) -> None:
    """Each email with the messages it carries (one, or a digest's several), over one connection."""
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


def _send_each(
    connection, outgoing: Iterable[tuple[list[Message], EmailMessage]], token: str, report: BatchReport
) -> None:
    receipted: list[int] = []  # accepted, their receipts kept in Redis, not yet marked sent
    try:
        for carried, email in outgoing:
            message_ids = [message.pk for message in carried]
            try:
                connection.send_messages([email])
            except smtplib.SMTPException as exc:
                refusal = permanent_refusal(exc)
                if refusal is None:
                    raise
                logger.warning("messages %s not delivered: %s", message_ids, refusal)
                report.failed += outbox.mark_failed(message_ids, token, refusal)
                continue
            # The window: SMTP accepted the message; a kill before the receipt is kept means a resend.
            # Once it is kept, whoever sends these messages next (a retry, the sweeper's requeue) finds
            # it and marks them sent instead, so their marks can wait for a group's single UPDATE
            # (ALERT_MARK_SENT_EVERY): a 10,000-message fan-out on the 2-core machine, 467-508 a second
            # with an UPDATE a message, 511-535 with groups of 25 (bench_fanout, same runs, 2026-12-01).
            # Receipts name the messages' own Message-IDs (what a retry looks up), a digest's too.
            if not receipts.remember_accepted([message.message_id for message in carried]):
                report.sent += outbox.mark_sent(message_ids, token)  # no receipt: mark at once
                continue
            receipted += message_ids
            if len(receipted) >= settings.ALERT_MARK_SENT_EVERY:
                report.sent += outbox.mark_sent(receipted, token)
                receipted = []
    except BaseException:
        _mark_sent_quietly(receipted, token, report)
        raise
    if receipted:
        report.sent += outbox.mark_sent(receipted, token)


def _mark_sent_quietly(message_ids: list[int], token: str, report: BatchReport) -> None:
    """The group's marks on the way out of a failed batch; the batch's own error is the one to raise
    (their receipts cover a database that fails here too)."""
    if not message_ids:
        return
    try:
        report.sent += outbox.mark_sent(message_ids, token)
    except DatabaseError as exc:
        logger.warning("could not mark %d accepted messages sent (their receipts stand): %s", len(message_ids), exc)


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

    Files are named after the Message-ID, so writing the same message twice leaves one file.
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
