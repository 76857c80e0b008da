"""Handing outbox rows to channel workers: claims as leases, acknowledgements, retries with back-off.

A claim leases rows by pushing `next_attempt_at` forward, so a worker that dies mid-batch only delays
its rows by the lease. Each ticket's messages go out in order: a row is not claimable while an older
row for the same ticket is still pending (leased or backing off), so "on the way" never overtakes
"we've looked at it", and two workers never hold messages for one ticket at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from repairs.database import utcnow
from repairs.notifications.models import Notification, OutboxStatus
from repairs.residents.models import ChannelIdentity
from repairs.tickets.models import Ticket

log = logging.getLogger(__name__)

NO_CHANNEL = "no_channel"
EXPIRED = "expired_unread"


@dataclass(frozen=True)
class Claimed:
    note: Notification
    channel: str
    external_id: str


class AlreadySent(Exception):
    """An officer asked to retry a message the resident already has."""


def _target_channel() -> ColumnElement[str | None]:
    """The channel a row goes to: a row addressed to a fixed chat (the officers' group) names its own;
    otherwise the one the resident reported the ticket on when they still have an identity there, else
    the identity they linked most recently. Correlated subqueries rather than a join to tickets, so the
    claim can walk the outbox index in order and stop at its limit."""
    on_ticket_channel = (
        select(ChannelIdentity.channel)
        .join(Ticket, Ticket.channel == ChannelIdentity.channel)
        .where(Ticket.id == Notification.ticket_id, ChannelIdentity.resident_id == Notification.resident_id)
        .limit(1)
        .scalar_subquery()
    )
    newest = (
        select(ChannelIdentity.channel)
        .where(ChannelIdentity.resident_id == Notification.resident_id)
        .order_by(ChannelIdentity.linked_at.desc(), ChannelIdentity.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return case(
        (Notification.external_id.is_not(None), Notification.channel),
        else_=func.coalesce(on_ticket_channel, newest),
    )


def _no_older_pending() -> ColumnElement[bool]:
    older = aliased(Notification)
    return ~exists().where(
        older.ticket_id == Notification.ticket_id,
        older.status == OutboxStatus.PENDING,
        older.id < Notification.id,
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(Notification.status == OutboxStatus.PENDING, Notification.next_attempt_at <= now)


def claimable(
    channels: Sequence[str], *, now: datetime, limit: int, resident_id: int | None = None, chat: str | None = None
) -> Select[Notification, str | None]:
    """Due rows for `channels` (and those with no channel at all), each with the channel it goes to, oldest
    due first, locked. It walks ix_outbox_status_next in order and stops at `limit`. With `chat`, only the rows
    of `resident_id` and those addressed to that chat itself (an erasure's notice, sent after the resident's
    link to the chat is gone)."""
    target_channel = _target_channel()
    only_resident: list[ColumnElement[bool]] = []
    if chat is not None:
        to_chat = and_(Notification.external_id == chat, Notification.channel.in_(list(channels)))
        only_resident = [or_(Notification.resident_id == resident_id, to_chat) if resident_id is not None
                         else to_chat]
    elif resident_id is not None:
        only_resident = [Notification.resident_id == resident_id]
    return (
        select(Notification, target_channel)
        .where(
            _due(now),
            # No channel at all: the resident never linked a chat, or erased it with /forget_me. Taken in
            # the same scan so it can be failed for officers below, instead of lying pending for ever.
            or_(target_channel.in_(list(channels)), target_channel.is_(None)),
            or_(Notification.ticket_id.is_(None), _no_older_pending()),
            *only_resident,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        # OF the outbox only: tickets and identities are only read. SKIP LOCKED lets concurrent claimers
        # take different rows without waiting for each other.
        .with_for_update(of=Notification, skip_locked=True)
    )


def claim(
    session: Session,
    *,
    channels: Sequence[str],
    limit: int,
    lease: timedelta,
    now: datetime | None = None,
    external_id: str | None = None,
) -> list[Claimed]:
    """Lease up to `limit` due rows whose resident is reachable on one of `channels`. Rows meant for
    another channel stay pending for that channel's worker (web chat delivers when the page opens).

    With `external_id` (and one channel), only the rows of the resident linked to that chat, all handed
    to that chat: web chat pulls them when the resident's page asks, whichever of their browsers it is."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # The planner prices the correlated subqueries far above jit_above_cost although the scan stops
        # after about `limit` rows: measured, JIT compiling took 80 ms of a 1 ms query.
        session.execute(text("SET LOCAL jit = off"))
    resident_id: int | None = None
    if external_id is not None:
        (channel,) = channels
        resident_id = session.scalar(
            select(ChannelIdentity.resident_id).where(
                ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
            )
        )
        # A chat no resident is linked to (most web chat visitors) has nothing to collect, bar an erasure's
        # notice addressed to the chat itself: one look in the small index of chat-addressed rows says.
        if resident_id is None and session.scalar(
            select(Notification.id).where(Notification.external_id == external_id, Notification.channel == channel,
                                          Notification.status == OutboxStatus.PENDING).limit(1)
        ) is None:
            return []
    rows = session.execute(claimable(channels, now=now, limit=limit, resident_id=resident_id,
                                     chat=external_id)).all()
    if not rows:
        return []
    resident_ids = {note.resident_id for note, _ in rows if note.resident_id is not None}
    # Newest identity first: a resident with two chats on one channel hears on the one they used last.
    identities = session.execute(
        select(ChannelIdentity.resident_id, ChannelIdentity.channel, ChannelIdentity.external_id)
        .where(ChannelIdentity.resident_id.in_(resident_ids), ChannelIdentity.channel.in_(list(channels)))
        .order_by(ChannelIdentity.linked_at.desc(), ChannelIdentity.id.desc())
    ).all()
    chat: dict[tuple[int, str], str] = {}
    for resident_id, channel, linked_id in identities:
        chat.setdefault((resident_id, channel), linked_id)
    if external_id is not None:  # every row is this resident's, handed to the chat that asked
        chat = {key: external_id for key in chat}
    lease_until = now + lease
    claimed = []
    unreachable = 0
    for note, target in rows:
        if target is None:
            note.status = OutboxStatus.FAILED
            note.last_error = NO_CHANNEL
            unreachable += 1
            continue
        if note.external_id is not None:  # addressed to a fixed chat, not to a resident
            chat_id: str | None = note.external_id
        elif note.resident_id is not None:
            chat_id = chat.get((note.resident_id, target))
        else:
            chat_id = None
        if chat_id is None:  # unlinked between the two queries: leave it for the next claim
            continue
        note.attempts += 1
        note.next_attempt_at = lease_until
        note.claimed_at = now
        note.channel = target
        claimed.append(Claimed(note, target, chat_id))
    if unreachable:
        log.warning("outbox rows failed: no channel", extra={"count": unreachable})
    session.flush()
    return claimed


def _locked(session: Session, note_id: int) -> Notification | None:
    return session.scalar(select(Notification).where(Notification.id == note_id).with_for_update())


def mark_sent(session: Session, note_id: int, *, message_id: str | None = None, now: datetime | None = None) -> bool:
    """Record that the channel accepted the message. Repeating it changes nothing. A row already
    failed is marked sent too: the resident has the message, whatever the worker said before.
    `message_id` is kept only for a fixed chat's row (the officers' group), whose message may be edited."""
    note = _locked(session, note_id)
    if note is None:
        return False
    if message_id and note.external_id is not None and (note.payload or {}).get("message_id") != message_id:
        note.payload = {**(note.payload or {}), "message_id": message_id}
    if note.status != OutboxStatus.SENT:
        note.status = OutboxStatus.SENT
        note.sent_at = now or utcnow()
    return True


def mark_failed(
    session: Session,
    note_id: int,
    *,
    error: str,
    retryable: bool,
    attempt: int | None,
    delays: Sequence[float],
    now: datetime | None = None,
) -> bool:
    """Back off and retry a passing failure; give up on a permanent one or when the budget is spent
    (one failure plus one per delay). A report from an older claim than the current one is ignored:
    that claim's lease ran out and another worker holds the row now. Only reported failures count against
    the budget, not claims: a lease that ran out unreported (a worker killed, the service down past the
    lease, a send that could not fit in the lease) would otherwise use up a message's retries with no
    failed send at all."""
    note = _locked(session, note_id)
    if note is None:
        return False
    if note.status != OutboxStatus.PENDING or (attempt is not None and attempt != note.attempts):
        log.info("stale delivery failure ignored", extra={"notification_id": note_id})
        return True
    now = now or utcnow()
    note.last_error = error
    note.failures += 1
    retry_index = note.failures - 1  # the first failure waits delays[0]
    if retryable and 0 <= retry_index < len(delays):
        note.next_attempt_at = now + timedelta(seconds=delays[retry_index])
    else:
        note.status = OutboxStatus.FAILED
        log.warning(
            "delivery failed for good",
            extra={"notification_id": note_id, "error": error, "attempts": note.attempts, "failures": note.failures},
        )
    return True


def retry(session: Session, note_id: int, *, now: datetime | None = None) -> tuple[Notification, bool] | None:
    """An officer puts a failed message back in the queue with a fresh retry budget; says whether it
    did. A pending row is left alone: it may be in a worker's hands right now, and making it due
    would send it twice."""
    note = _locked(session, note_id)
    if note is None:
        return None
    if note.status == OutboxStatus.SENT:
        raise AlreadySent(note_id)
    if note.status != OutboxStatus.FAILED:
        return note, False
    note.status = OutboxStatus.PENDING
    note.attempts = 0
    note.failures = 0
    note.next_attempt_at = now or utcnow()
    return note, True


def expire_unread(session: Session, *, older_than: timedelta, now: datetime | None = None, limit: int = 500) -> int:
    """Fail messages still waiting `older_than` after they were written, so officers see the resident has
    not had them (and can phone). Rows in a worker's lease or back-off are left to it; rows another
    sweeper holds are skipped. Returns how many were failed (at most `limit`; the next sweep takes more)."""
    now = now or utcnow()
    ids = session.scalars(
        select(Notification.id)
        .where(_due(now), Notification.created_at < now - older_than)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for note in session.scalars(select(Notification).where(Notification.id.in_(ids))):
        note.status = OutboxStatus.FAILED
        note.last_error = EXPIRED
    if ids:
        log.warning("outbox rows failed: not collected in time", extra={"count": len(ids)})
    return len(ids)


def list_deliveries(
    session: Session, *, status: OutboxStatus, limit: int, before_id: int | None
) -> list[tuple[Notification, str | None]]:
    """Deliveries in one state with their ticket's reference, newest first."""
    query = (
        select(Notification, Ticket.reference)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.status == status)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return [(note, reference) for note, reference in session.execute(query).all()]
