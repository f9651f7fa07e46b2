"""From routed signals to Alert and Message rows, and the states a message moves through on its way out.

An Alert is one (pair, structure) signal for one user; the alerts of one user for one scan travel
in one Message (a database constraint holds it). No spam: a cooldown per (user, ticker, pair, structure)
broken only by a clear FF rise, an optional "seen in N consecutive scans" rule, per-user daily caps
counted in messages (per trading day), quiet hours and a daily digest (messages held and sent together
later). Every FF these rules compare is the one the user's earnings policy judges (``Criteria.judged_ff``:
the ex-earnings FF when earnings fall inside the window under ``ex_earnings``), the figure the user was
alerted on. Exactly once: the Alert unique key makes a re-run create nothing, and sending moves messages
pending -> sending -> sent | failed with conditional UPDATEs guarded by the claim of one send task, so a
task that runs twice sends once.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import AlertSettings
from alerts.models import LEGACY_MESSAGES, Alert, Message
from alerts.routing import Recipient
from scanner.engine import FFSignal
from scanner.models import Scan, Signal

CooldownKey = tuple[int, str, str]  # user, pair, structure
SignalKey = tuple[str, str]  # pair, structure
AlertKey = tuple[int, str, str, date, date, int]  # the unique key within one ticker and day
UNDELIVERED = (Message.Status.FAILED, Message.Status.CANCELLED)
# A message of this scan in one of these states may still take more alerts: it has not been claimed for sending.
OPEN = (Message.Status.PENDING, Message.Status.HELD)


def ff_bucket(ff: float) -> int:
    """The level of a judged FF an alert belongs to; a re-run of the same level collides on the unique key."""
    return math.floor(ff / settings.ALERT_FF_BUCKET + 1e-9)


@dataclass
class AlertHistory:
    """What the no-spam rules need to know about the past, loaded once per scan."""

    last_alert: dict[CooldownKey, tuple[float, datetime]] = field(default_factory=dict)  # judged FF, when
    messages_today: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    # Newest first; each signal as its "ff", "ff_ex_earnings" and "flags" (what Criteria.judged_ff reads).
    previous_scans: list[dict[SignalKey, FFSignal]] = field(default_factory=list)
    alerted_today: set[AlertKey] = field(default_factory=set)  # keys already taken on this ticker and day
    # This scan's message of each user, stored by an earlier attempt of the scan (user id -> message).
    scan_messages: dict[int, Message] = field(default_factory=dict)


@dataclass
class PlannedMessage:
    """One user's message for this scan and the alerts it carries, strongest first (unsaved alerts; the
    message unsaved too, unless an earlier attempt of the scan stored it and it is not yet sent)."""

    message: Message
    alerts: list[Alert]


def lock_recipients(user_ids: Iterable[int]) -> None:
    """Lock these users' AlertSettings rows until the transaction ends (PostgreSQL; SQLite ignores it).

    One query whatever the number of users. Rows are locked in id order, so two scans sharing
    users wait for each other instead of deadlocking.
    """
    ids = sorted(user_ids)
    if ids:
        list(
            AlertSettings.objects.select_for_update(no_key=True)
            .filter(user_id__in=ids)
            .order_by("pk")
            .values_list("pk")
        )


def load_history(
    ticker: str, day: date, recipients: Sequence[Recipient], now: datetime, scan_id: int | None
) -> AlertHistory:
    """Five queries at most, whatever the number of recipients. ``scan_id``: the scan being alerted."""
    history = AlertHistory()
    if not recipients:
        return history
    user_ids = sorted({r.user_id for r in recipients})
    longest_cooldown = max(r.cooldown_minutes for r in recipients)
    recent = (
        Alert.objects.filter(ticker=ticker, created_at__gte=now - timedelta(minutes=longest_cooldown))
        .exclude(message__status__in=UNDELIVERED)
        .values_list("user_id", "pair", "structure", "ff_judged", "created_at")
    )
    for user_id, pair, structure, ff, created_at in recent:
        key = (user_id, pair, structure)
        if key not in history.last_alert or history.last_alert[key][1] < created_at:
            history.last_alert[key] = (ff, created_at)
    counts = (
        Message.objects.filter(trading_day=day, user_id__in=user_ids)
        .exclude(status__in=UNDELIVERED)
        .values("user_id", "kind")
        .annotate(n=Count("id"))
    )
    for row in counts:
        history.messages_today[row["user_id"]][row["kind"]] += row["n"]
    taken = Alert.objects.filter(ticker=ticker, trading_day=day, user_id__in=user_ids).values_list(
        "user_id", "pair", "structure", "front_expiry", "back_expiry", "ff_bucket"
    )
    history.alerted_today = set(taken)
    if scan_id is not None:
        # Usually none: only a second attempt of a scan whose first one committed finds its messages. They
        # stay locked, so a send task cannot claim one between this read and the commit of its new alerts.
        stored = Message.objects.select_for_update(no_key=True).filter(scan_id=scan_id, user_id__in=user_ids)
        history.scan_messages = {m.user_id: m for m in stored.exclude(LEGACY_MESSAGES).order_by("pk")}
    needed = max(r.consecutive_scans for r in recipients) - 1
    if needed > 0:
        earlier = Scan.objects.filter(ticker=ticker, outcome=Scan.Outcome.OK)
        if scan_id is not None:
            earlier = earlier.exclude(pk=scan_id)
        latest = earlier.order_by("-started_at").values("pk")[:needed]
        # One query; the outer join keeps a scan that found no signal at all (it breaks a streak).
        rows = Scan.objects.filter(pk__in=latest).values_list(
            "pk",
            "started_at",
            "signals__pair",
            "signals__structure",
            "signals__ff",
            "signals__data__ff_ex_earnings",
            "signals__data__flags",
        )
        by_scan: dict[int, dict[SignalKey, FFSignal]] = {}
        started: dict[int, datetime] = {}
        for earlier_scan, started_at, pair, structure, ff, ff_ex_earnings, flags in rows:
            seen = by_scan.setdefault(earlier_scan, {})
            started[earlier_scan] = started_at
            if pair is not None:
                seen[(pair, structure)] = {"ff": ff, "ff_ex_earnings": ff_ex_earnings, "flags": flags or []}
        history.previous_scans = [by_scan[pk] for pk in sorted(by_scan, key=started.__getitem__, reverse=True)]
    return history


def plan_messages(
    signals: Sequence[Signal],
    routed: dict[int, list[Recipient]],
    history: AlertHistory,
    now: datetime,
) -> list[PlannedMessage]:
    """One message per user with the routed (signal index -> recipients) alerts that pass the no-spam
    rules, strongest first by the FF the user's settings judge. A daily cap counts messages: a user's
    first alert of this scan takes a place under the cap, the others ride in the same message. A user
    this scan already has a message for (an earlier attempt of it committed) gets the new alerts in that
    message while it waits to be sent, and none once it has gone: one message per user and scan.
    """
    planned: dict[int, PlannedMessage] = {}
    days = {index: signal_trading_day(signals[index]) for index in routed}
    for user_id, (recipient, candidates) in _candidates(signals, routed).items():
        earlier = history.scan_messages.get(user_id)
        if earlier is not None and earlier.status not in OPEN:
            continue
        for judged, index in candidates:
            signal = signals[index]
            bucket = ff_bucket(judged)
            key = (user_id, signal.pair, signal.structure, signal.front_expiry, signal.back_expiry, bucket)
            if key in history.alerted_today:
                continue  # the unique key already holds it: a re-run of the same level
            joining = user_id in planned or earlier is not None
            if not _passes_no_spam(signal, judged, recipient, history, now, needs_a_place=not joining):
                continue
            day = days[index]
            if user_id not in planned:
                message = earlier if earlier is not None else _new_message(signal, recipient, day, now)
                planned[user_id] = PlannedMessage(message, [])
                if earlier is None:
                    history.messages_today[user_id][recipient.kind] += 1
            planned[user_id].alerts.append(
                Alert(
                    user_id=user_id,
                    signal=signal,
                    kind=recipient.kind,
                    ticker=signal.ticker,
                    structure=signal.structure,
                    pair=signal.pair,
                    front_expiry=signal.front_expiry,
                    back_expiry=signal.back_expiry,
                    trading_day=day,
                    ff_bucket=bucket,
                    ff=signal.ff,
                    ff_judged=judged,
                    created_at=now,
                )
            )
            history.last_alert[(user_id, signal.pair, signal.structure)] = (judged, now)
            history.alerted_today.add(key)
    return list(planned.values())


def _candidates(
    signals: Sequence[Signal], routed: dict[int, list[Recipient]]
) -> dict[int, tuple[Recipient, list[tuple[float, int]]]]:
    """Each routed user (id) with their signals as (judged FF, signal index), strongest first.

    A user is routed once per ticker (subscriber or discovery user), so one recipient stands for them.
    Users come in the order of their strongest raw signal, as messages were always planned.
    """
    by_user: dict[int, tuple[Recipient, list[tuple[float, int]]]] = {}
    for index in sorted(routed, key=lambda i: -(signals[i].ff or 0.0)):
        data = signals[index].data
        judged_under: dict[str, float] = {}  # earnings policy -> judged FF: what the judgement depends on
        for recipient in routed[index]:
            criteria = recipient.criteria
            judged = judged_under.get(criteria.earnings_policy)
            if judged is None:
                # Routed: the criteria accepted the signal, so there is a judged FF.
                judged = judged_under[criteria.earnings_policy] = criteria.judged_ff(data)
            entry = by_user.get(recipient.user_id)
            if entry is None:
                entry = by_user[recipient.user_id] = (recipient, [])
            entry[1].append((judged, index))
    for _, candidates in by_user.values():
        candidates.sort(key=lambda candidate: (-candidate[0], candidate[1]))
    return by_user


def _new_message(signal: Signal, recipient: Recipient, day: date, now: datetime) -> Message:
    status, send_after = delivery_time(recipient, now)
    return Message(
        user_id=recipient.user_id,
        ticker=signal.ticker,
        scan_id=signal.scan_id,
        kind=recipient.kind,
        trading_day=day,
        status=status,
        send_after=send_after,
        created_at=now,
    )


def signal_trading_day(signal: Signal) -> date:
    from market.clock import trading_day

    return trading_day(signal.as_of)


def _passes_no_spam(
    signal: Signal, judged: float, recipient: Recipient, history: AlertHistory, now: datetime, needs_a_place: bool
) -> bool:
    """``judged``: the signal's FF as the recipient's earnings policy judges it; every comparison uses it."""
    last = history.last_alert.get((recipient.user_id, signal.pair, signal.structure))
    if last is not None:
        last_ff, last_at = last
        in_cooldown = now - last_at < timedelta(minutes=recipient.cooldown_minutes)
        if in_cooldown and judged < last_ff + settings.ALERT_COOLDOWN_BREAK_FF - 1e-9:
            return False
    needed = recipient.consecutive_scans - 1
    if needed > 0:
        previous = history.previous_scans[:needed]
        key = (signal.pair, signal.structure)
        if len(previous) < needed or not all(_reached(scan.get(key), recipient) for scan in previous):
            return False
    if not needs_a_place:
        return True
    today = history.messages_today[recipient.user_id]
    if sum(today.values()) >= recipient.daily_cap:
        return False
    if recipient.kind == Alert.Kind.DISCOVERY and today[Alert.Kind.DISCOVERY] >= recipient.discovery_daily_cap:
        return False
    return True


def _reached(seen: FFSignal | None, recipient: Recipient) -> bool:
    """Whether an earlier scan's signal reached the recipient's threshold, judged as they judge FF."""
    judged = None if seen is None else recipient.criteria.judged_ff(seen)
    return judged is not None and judged >= recipient.criteria.threshold


def delivery_time(recipient: Recipient, now: datetime) -> tuple[str, datetime | None]:
    """PENDING now, or HELD until the daily digest time or the end of quiet hours (user's time zone)."""
    zone = ZoneInfo(recipient.timezone)
    local_now = now.astimezone(zone)
    if recipient.delivery == AlertSettings.Delivery.DAILY_DIGEST:
        due = _next_local(local_now, settings.ALERT_DIGEST_TIME, zone, inclusive=False)
        if in_quiet_hours(due.timetz().replace(tzinfo=None), recipient.quiet_hours_start, recipient.quiet_hours_end):
            due = _next_local(due, recipient.quiet_hours_end, zone, inclusive=False)
        return Message.Status.HELD, due.astimezone(UTC)
    if in_quiet_hours(local_now.time(), recipient.quiet_hours_start, recipient.quiet_hours_end):
        due = _next_local(local_now, recipient.quiet_hours_end, zone, inclusive=False)
        return Message.Status.HELD, due.astimezone(UTC)
    return Message.Status.PENDING, None


def in_quiet_hours(at: time, start: time | None, end: time | None) -> bool:
    """Quiet from ``start`` (inclusive) to ``end`` (exclusive); an overnight span wraps past midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def _next_local(after: datetime, at: time, zone: ZoneInfo, inclusive: bool) -> datetime:
    """The first wall-clock ``at`` in ``zone`` later than ``after`` (or equal, when inclusive)."""
    local = after.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate < local or (candidate == local and not inclusive):
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate


def save_messages(planned: Sequence[PlannedMessage]) -> list[Message]:
    """Insert the new messages and every alert (the caller's transaction makes them one write); the messages.

    Two statements whatever the number of users. One message per user and scan is the database's rule
    (``one_message_per_scan``); the users' lock and the plan keep to it, but should another transaction
    store this scan's message for one of the users first, the alerts join that message rather than fail
    the scan. The plan left out every alert whose unique key is taken, so an alert insert that collides
    anyway is a bug and fails loudly.
    """
    if not planned:
        return []
    new = [p.message for p in planned if p.message.pk is None]
    if _insert(Message, new, skip_taken="message_id") < len(new):
        _join_stored_messages([p for p in planned if p.message.pk is None])
    alerts = []
    for plan in planned:
        for alert in plan.alerts:
            alert.message = plan.message
            alerts.append(alert)
    _insert(Alert, alerts)
    return [p.message for p in planned]


def _join_stored_messages(refused: Sequence[PlannedMessage]) -> None:
    """Put in place of each refused message the one stored for its user and scan."""
    stored = Message.objects.filter(
        scan_id__in={p.message.scan_id for p in refused}, user_id__in={p.message.user_id for p in refused}
    ).exclude(LEGACY_MESSAGES)
    by_key = {(m.scan_id, m.user_id): m for m in stored}
    for plan in refused:
        plan.message = by_key[(plan.message.scan_id, plan.message.user_id)]


def _insert(model, rows: list, skip_taken: str | None = None) -> int:
    """Insert the rows and set their ids; how many were inserted. On PostgreSQL one INSERT from one array
    per column: a fan-out stores tens of thousands of rows, and preparing each value through the ORM cost
    more than the insert.

    ``skip_taken``: a unique field set on every row; a row that a unique constraint refuses is then
    skipped (left without an id) instead of failing the statement and the transaction around it.
    """
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, ignore_conflicts=skip_taken is not None)
        if skip_taken is not None:
            keys = [getattr(row, skip_taken) for row in rows]
            _set_ids(
                rows, skip_taken, model.objects.filter(**{f"{skip_taken}__in": keys}).values_list(skip_taken, "pk")
            )
        return sum(row.pk is not None for row in rows)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    # The ids come back in the input order (as Django's own bulk insert relies on); ORDINALITY pins it.
    names = ", ".join(f"c{i}" for i in range(len(fields)))
    sql = (
        f"INSERT INTO {meta.db_table} ({columns}) "
        f"SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS r({names}, n) ORDER BY n"
    )
    if skip_taken is not None:
        # Skipped rows leave gaps in the ids returned: each comes back with its key.
        sql += f" ON CONFLICT DO NOTHING RETURNING {connection.ops.quote_name(meta.get_field(skip_taken).column)}, id"
    else:
        sql += " RETURNING id"
    values = [[getattr(row, f.attname) for row in rows] for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        returned = cursor.fetchall()
    if skip_taken is not None:
        _set_ids(rows, skip_taken, returned)
        return len(returned)
    for row, (pk,) in zip(rows, returned, strict=True):
        row.pk = pk
        row._state.adding = False
    return len(rows)


def _set_ids(rows: list, key: str, stored: Iterable[tuple[object, int]]) -> None:
    ids = dict(stored)
    for row in rows:
        pk = ids.get(getattr(row, key))
        if pk is not None:
            row.pk = pk
            row._state.adding = False


def pending_message_ids_of_scan(scan_id: int) -> list[int]:
    return list(
        Message.objects.filter(scan_id=scan_id, status=Message.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def message_ids_of_alerts(alert_ids: Sequence[int]) -> list[int]:
    """The messages carrying these alerts (send tasks queued before messages existed name alerts)."""
    return sorted(set(Alert.objects.filter(pk__in=alert_ids).values_list("message_id", flat=True)))


# --- state transitions --------------------------------------------------------------------------


def claim_pending(message_ids: Sequence[int], token: str) -> list[int]:
    """Move the given messages to SENDING under ``token``; messages already claimed by ``token`` (a retry or
    a redelivery of the same task) are kept. Returns the ids this token now holds, in id order."""
    now = timezone.now()
    claimed = Message.objects.filter(pk__in=message_ids, status=Message.Status.PENDING).update(
        status=Message.Status.SENDING,
        claimed_by=token,
        claimed_at=now,
        lease_until=now + send_lease(),
        attempts=F("attempts") + 1,
    )
    requested = sorted(set(message_ids))
    if claimed == len(requested):
        return requested  # the usual first attempt: every one was pending and is now this token's
    return _held_by(token, Q(pk__in=message_ids))


def claim_due_held(user_ids: Sequence[int], token: str, now: datetime) -> list[int]:
    """Move held messages whose time has come to SENDING under ``token`` (digests)."""
    claimed_at = timezone.now()
    Message.objects.filter(user_id__in=user_ids, status=Message.Status.HELD, send_after__lte=now).update(
        status=Message.Status.SENDING,
        claimed_by=token,
        claimed_at=claimed_at,
        lease_until=claimed_at + send_lease(),
        attempts=F("attempts") + 1,
    )
    return _held_by(token, Q(user_id__in=user_ids))


def _held_by(token: str, where: Q) -> list[int]:
    return list(
        Message.objects.filter(where, status=Message.Status.SENDING, claimed_by=token)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def mark_sent(message_ids: Sequence[int], token: str) -> int:
    # Plain SQL: this runs once per message of a fan-out, where the ORM's per-call cost showed.
    placeholders = ", ".join(["%s"] * len(message_ids))
    sql = (
        f"UPDATE {Message._meta.db_table} SET status = %s, sent_at = %s, error = '' "
        f"WHERE status = %s AND claimed_by = %s AND id IN ({placeholders})"
    )
    sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [Message.Status.SENT.value, sent_at, Message.Status.SENDING.value, token, *message_ids])
        return cursor.rowcount


@contextmanager
def relaxed_commits() -> Iterator[None]:
    """On PostgreSQL, commit without waiting for the WAL flush (``synchronous_commit = off``).

    For the per-message "sent" marks: a commit is still atomic and visible at once, so a killed
    worker loses nothing; only a crash of PostgreSQL itself could lose the last fraction of a second
    of marks (those messages would be re-sent once their send lease lapsed, unless a receipt says
    the SMTP server accepted them).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def mark_failed(message_ids: Sequence[int], token: str, error: str) -> int:
    return Message.objects.filter(pk__in=message_ids, status=Message.Status.SENDING, claimed_by=token).update(
        status=Message.Status.FAILED, error=error[:2000]
    )


def mark_cancelled(message_ids: Sequence[int], token: str, reason: str) -> int:
    return Message.objects.filter(pk__in=message_ids, status=Message.Status.SENDING, claimed_by=token).update(
        status=Message.Status.CANCELLED, error=reason
    )


def fail_held(token: str, error: str) -> int:
    """Fail every message the token still holds (its task gives up)."""
    return Message.objects.filter(status=Message.Status.SENDING, claimed_by=token).update(
        status=Message.Status.FAILED, error=error[:2000]
    )


def record_attempt_error(token: str, error: str) -> int:
    """Note a transient failure on every message the token still holds (they stay SENDING for the retry)."""
    return Message.objects.filter(status=Message.Status.SENDING, claimed_by=token).update(error=error[:2000])


def send_lease() -> timedelta:
    return timedelta(seconds=settings.ALERT_SEND_LEASE_SECONDS)


def renew_claim(token: str, until: datetime) -> None:
    """Extend the lease on every message the token holds (its task is alive, or waits for its retry)."""
    Message.objects.filter(status=Message.Status.SENDING, claimed_by=token).update(lease_until=until)


def release_lapsed_claims(now: datetime) -> list[int]:
    """SENDING messages whose claim lapsed (their task died: it no longer renews the lease) go back to
    PENDING, or to HELD when they wait for a digest; the PENDING ones' ids are returned for re-enqueueing.

    Each message is released by a conditional UPDATE on the claim it had, so a task renewing at the same
    moment keeps it. A re-send of a released message checks the SMTP receipts first (the dead task may
    have had it accepted) and keeps its Message-ID. Rows claimed before leases existed have none; they
    lapse ALERT_SEND_LEASE_MINUTES after their claim.
    """
    lapsed = Message.objects.filter(status=Message.Status.SENDING).filter(
        Q(lease_until__lt=now)
        | Q(lease_until__isnull=True, claimed_at__lt=now - timedelta(minutes=settings.ALERT_SEND_LEASE_MINUTES))
    )
    released = []
    for pk, token, digest in lapsed.values_list("pk", "claimed_by", "send_after").order_by("pk"):
        back_to = Message.Status.HELD if digest is not None else Message.Status.PENDING
        moved = (
            Message.objects.filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True))
            .filter(pk=pk, status=Message.Status.SENDING, claimed_by=token)
            .update(status=back_to, claimed_by="", lease_until=None)
        )
        if moved and back_to == Message.Status.PENDING:
            released.append(pk)
    return released


def lost_pending(now: datetime) -> list[int]:
    """PENDING messages whose send task was queued again (or else that were created, which queues one)
    more than ALERT_PENDING_REQUEUE_SECONDS ago: the task was lost (a broker crash loses its last second).
    Queueing one again is safe: the first task to run claims it, the other finds nothing to send."""
    before = now - timedelta(seconds=settings.ALERT_PENDING_REQUEUE_SECONDS)
    return list(
        Message.objects.filter(status=Message.Status.PENDING, created_at__lt=before)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=before))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def mark_queued(message_ids: Sequence[int], now: datetime) -> None:
    """A send task for these messages went to the broker: they are not lost before another while."""
    Message.objects.filter(pk__in=message_ids, status=Message.Status.PENDING).update(queued_at=now)


def users_with_due_digests(now: datetime) -> list[int]:
    return list(
        Message.objects.filter(status=Message.Status.HELD, send_after__lte=now)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def retry_failed(message_ids: Sequence[int]) -> list[int]:
    """An operator's resend: the given messages that FAILED go back to PENDING, their ids returned for
    enqueueing. Messages in any other state are left alone (a sent one is never sent twice this way)."""
    with transaction.atomic():
        failed = list(
            Message.objects.select_for_update()
            .filter(pk__in=message_ids, status=Message.Status.FAILED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=failed, status=Message.Status.FAILED).update(
            status=Message.Status.PENDING, claimed_by="", claimed_at=None
        )
    return failed


def cancel_held(message_ids: Sequence[int], reason: str) -> int:
    """An operator's cancel: the given messages still HELD (quiet hours, digest) will not go out."""
    return Message.objects.filter(pk__in=message_ids, status=Message.Status.HELD).update(
        status=Message.Status.CANCELLED, error=reason
    )
