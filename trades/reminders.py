"""Exit reminders of placed trades: when they fall due, and sending each exactly once.

Two reminders per placed trade while it is open (New York time):

* ``eve``: ``PLACED_REMINDER_MINUTES_BEFORE_CLOSE`` (60) before the close of the last NYSE session
  before the front expiry — 15:00 on a full day, 12:00 on an early close — so there is an hour left
  to close the spread before its front legs' last day (the paper trades close at 15:45);
* ``expiry_open``: at the open (09:30) of the front expiry day, when that day is a session.

A reminder whose time has already passed when the trade is placed is not scheduled. Sending moves a
reminder pending -> sending -> sent by conditional UPDATEs guarded by the send task's id, as the
alerts outbox does: two runs of the task (or a run and its retry) send each reminder once; a claim
of a dead task lapses after ``CLAIM_LEASE`` and the next run takes it over. "I closed it" cancels the
pending ones. A reminder not sent by the close of the front expiry day is cancelled, not sent late.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from market.calendar import last_session_on_or_before
from market.clock import session_bounds
from trades.exits import close_before
from trades.models import PlacedTrade, Reminder

logger = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")
CLAIM_LEASE = timedelta(minutes=15)
STRUCTURE_LABELS = {"atm_call_calendar": "ATM call calendar", "double_calendar": "double calendar"}


def due_times(trade: PlacedTrade) -> dict[str, datetime]:
    """Each reminder's time; the expiry-day one only when the front expiry is a session."""
    minutes = settings.PLACED_REMINDER_MINUTES_BEFORE_CLOSE
    times = {Reminder.Kind.EVE: close_before(trade.front_expiry) - timedelta(minutes=minutes)}
    if last_session_on_or_before(trade.front_expiry) == trade.front_expiry:
        times[Reminder.Kind.EXPIRY_OPEN] = session_bounds(trade.front_expiry)[0]
    return times


def schedule(trade: PlacedTrade, now: datetime) -> list[Reminder]:
    """The open trade's reminders still ahead of ``now``; a second call adds nothing (unique key)."""
    reminders = [Reminder(placed=trade, kind=kind, due_at=due) for kind, due in due_times(trade).items() if due > now]
    Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
    return reminders


def too_late(trade: PlacedTrade) -> datetime:
    """After the close of the front expiry day a reminder is worthless."""
    return session_bounds(last_session_on_or_before(trade.front_expiry))[1]


def claim_due(now: datetime, token: str) -> list[Reminder]:
    """Claim the due reminders of open trades for ``token`` (its retries keep them); the claimed ones."""
    wall = timezone.now()
    claimable = Q(status=Reminder.Status.PENDING) | Q(status=Reminder.Status.SENDING, claimed_at__lt=wall - CLAIM_LEASE)
    due = Reminder.objects.filter(claimable, due_at__lte=now, placed__status=PlacedTrade.Status.OPEN)
    ids = list(due.values_list("pk", flat=True))
    # The claim: one conditional UPDATE; a concurrent run's UPDATE finds the rows no longer claimable.
    Reminder.objects.filter(claimable, pk__in=ids).update(
        status=Reminder.Status.SENDING, claimed_by=token, claimed_at=wall
    )
    return list(
        Reminder.objects.filter(status=Reminder.Status.SENDING, claimed_by=token)
        .select_related("placed__user")
        .order_by("due_at", "pk")
    )


def _finish(reminder: Reminder, token: str, status: str, error: str = "") -> int:
    fields = {"status": status, "error": error}
    if status == Reminder.Status.SENT:
        fields["sent_at"] = timezone.now()
    return Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING, claimed_by=token).update(**fields)


def send_due_reminders(now: datetime, token: str) -> dict:
    """Send the reminders due by ``now`` (the market's clock) over one connection; what happened.

    An SMTP or network failure that may pass propagates with the rest still claimed by ``token``:
    the task's retry sends them. A recipient refused for good cancels that reminder only.
    """
    report = {"sent": 0, "cancelled": 0}
    claimed = claim_due(now, token)
    outgoing = []
    for reminder in claimed:
        trade = reminder.placed  # read with the claim, so its status is current
        # A claim outlives "I closed it" (which cancels only pending reminders): a run that claimed
        # before the user closed the trade, then died, must not remind them on its retry.
        if trade.status != PlacedTrade.Status.OPEN:
            report["cancelled"] += _finish(reminder, token, Reminder.Status.CANCELLED, "the user closed the trade")
        elif now >= too_late(trade) or not trade.user.is_active:
            report["cancelled"] += _finish(reminder, token, Reminder.Status.CANCELLED, "too late or user inactive")
        else:
            outgoing.append(reminder)
    if not outgoing:
        return report
    connection = get_connection()
    connection.open()
    try:
        for reminder in outgoing:
            try:
                connection.send_messages([reminder_email(reminder)])
            except smtplib.SMTPRecipientsRefused as exc:
                if not all(500 <= code < 600 for code, _ in exc.recipients.values()):
                    raise
                report["cancelled"] += _finish(reminder, token, Reminder.Status.CANCELLED, f"refused: {exc}")
                continue
            report["sent"] += _finish(reminder, token, Reminder.Status.SENT)
    finally:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            pass
    return report


# --- the email ------------------------------------------------------------------------------------


def new_york(moment: datetime) -> str:
    """4 Apr 2025 15:00 ET."""
    local = moment.astimezone(NEW_YORK)
    return f"{local.day} {local:%b %Y %H:%M} ET"


def _domain() -> str:
    return (
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
        or urlsplit(settings.SITE_URL).hostname
        or "localhost"
    )


def reminder_context(reminder: Reminder) -> dict:
    trade = reminder.placed
    close = session_bounds(last_session_on_or_before(trade.front_expiry))[1]
    pnl = trade.pnl_per_spread
    return {
        "eve": reminder.kind == Reminder.Kind.EVE,
        "trade": trade,
        "structure": STRUCTURE_LABELS.get(trade.structure, trade.structure),
        "front_expiry": f"{trade.front_expiry.day} {trade.front_expiry:%b %Y}",
        "due": new_york(reminder.due_at),
        "eve_close": new_york(close_before(trade.front_expiry)),
        "expiry_close": new_york(close),
        "entry": f"${trade.entry_debit:,.2f}",
        "mark": None if trade.last_mark_fill is None else f"${trade.last_mark_fill:,.2f}",
        "mark_at": None if trade.last_mark_at is None else new_york(trade.last_mark_at),
        "pnl": None if pnl is None else f"{'-' if pnl < 0 else '+'}${abs(pnl):,.2f}",
        "my_trades_url": f"{settings.SITE_URL}/me/trades/",
        "simulated": bool(getattr(settings, "MARKET_SIMULATED", False)),
    }


def reminder_email(reminder: Reminder) -> EmailMultiAlternatives:
    """Text and HTML; the Message-ID is the reminder's, so a re-send in the one window is recognisable."""
    context = reminder_context(reminder)
    subject = " ".join(render_to_string("trades/email/reminder_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("trades/email/reminder_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[reminder.placed.user.email],
        headers={"Message-ID": f"<reminder-{reminder.pk}@{_domain()}>"},
    )
    message.attach_alternative(render_to_string("trades/email/reminder_body.html", context), "text/html")
    return message
