"""The kinds of record that hold personal data, and what the retention run does to each when it is due.

One place lists them (`record_kinds`); data/retention.yml must give each a period, and the service refuses to
start if a kind has none. A new store of personal data adds one `RecordKind` to the list and one entry to the
file, as the listening utterances (issue 14) did: no store keeps a deletion job of its own.

Each kind's `apply` treats at most `batch` records past `cutoff` in the caller's transaction and returns how
many it treated; the run calls it again, each time in a fresh transaction, until a call treats fewer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from repairs.auth.models import SignInFailure
from repairs.channels.models import ChannelState
from repairs.idempotency.models import IdempotencyRecord
from repairs.listening.store import delete_said_before
from repairs.notifications.models import Notification, OutboxStatus
from repairs.personal_data.removal import (
    delete_photos,
    remove_complaint_words,
    remove_ticket_audit_text,
    remove_ticket_details,
)
from repairs.personal_data.tracker_store import TrackerStore
from repairs.photos.storage import PhotoStore
from repairs.residents.models import VerificationAttempt
from repairs.tickets.models import CallbackRequest, Complaint, Photo, Rating, Status, Ticket


@dataclass(frozen=True)
class RetentionJob:
    """What a kind may need besides the session: the photo store, Rasa's tracker store (None when the service
    has not been told where it is), the run's instant."""

    photos: PhotoStore
    tracker: TrackerStore | None
    now: datetime
    batch: int = 500


Apply = Callable[[Session, RetentionJob, datetime], int]


@dataclass(frozen=True)
class RecordKind:
    name: str
    apply: Apply
    # True for kinds kept outside the repairs database (Rasa's tracker store): applied once, not in batches
    # of the service's transactions.
    external: bool = False


def _deleted(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# A repair is over when it is closed, cancelled, or merged into another report of the same job. Completed but
# not yet closed is not over: the resident may still say "not fixed".
_ENDED = (Status.CLOSED, Status.CANCELLED, Status.MERGED)


def _ended_before(cutoff: datetime) -> ColumnElement[bool]:
    ended_at = func.coalesce(Ticket.closed_at, Ticket.cancelled_at, Ticket.updated_at)
    return and_(Ticket.status.in_(_ENDED), ended_at < cutoff)


def _ticket_details(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(Ticket.id).where(_ended_before(cutoff), Ticket.details_removed_at.is_(None))
                          .order_by(Ticket.id).limit(job.batch)).all()
    return remove_ticket_details(session, ids, now=job.now)


def _ticket_audit_text(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(Ticket.id).where(_ended_before(cutoff), Ticket.audit_text_removed_at.is_(None))
                          .order_by(Ticket.id).limit(job.batch)).all()
    return remove_ticket_audit_text(session, ids, now=job.now)


def _photos(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(Photo.id).join(Ticket, Ticket.id == Photo.ticket_id).where(_ended_before(cutoff))
                          .order_by(Photo.id).limit(job.batch)).all()
    return delete_photos(session, job.photos, ids)


def _complaints(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    answered_at = func.coalesce(Complaint.responded_at, Complaint.created_at)
    ids = session.scalars(select(Complaint.id).where(Complaint.status != "open", answered_at < cutoff,
                                                     Complaint.details_removed_at.is_(None))
                          .order_by(Complaint.id).limit(job.batch)).all()
    return remove_complaint_words(session, ids, now=job.now)


def _rating_comments(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(Rating.id).where(Rating.comment.is_not(None), Rating.created_at < cutoff)
                          .limit(job.batch)).all()
    if ids:
        session.execute(update(Rating).where(Rating.id.in_(ids)).values(comment=None)
                        .execution_options(synchronize_session=False))
    return len(ids)


def _callback_reasons(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(CallbackRequest.id).where(CallbackRequest.reason != "",
                                                           CallbackRequest.created_at < cutoff)
                          .limit(job.batch)).all()
    if ids:
        session.execute(update(CallbackRequest).where(CallbackRequest.id.in_(ids)).values(reason="")
                        .execution_options(synchronize_session=False))
    return len(ids)


def _conversations(_session: Session, job: RetentionJob, cutoff: datetime) -> int:
    if job.tracker is None:
        return 0
    total = 0
    while True:
        conversations, _events = job.tracker.erase_idle(cutoff, limit=job.batch)
        total += conversations
        if conversations < job.batch:
            return total


def _deliveries(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    # Pending rows are a worker's to send; only what is over (sent, or failed for officers to see) goes.
    ids = session.scalars(select(Notification.id).where(Notification.status != OutboxStatus.PENDING,
                                                        Notification.created_at < cutoff)
                          .limit(job.batch).with_for_update(skip_locked=True)).all()
    if ids:
        session.execute(delete(Notification).where(Notification.id.in_(ids))
                        .execution_options(synchronize_session=False))
    return len(ids)


def _listening_utterances(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    # What residents said, redacted (repairs/listening/): deleted, with the theme examples quoted from it.
    return delete_said_before(session, cutoff, batch=job.batch)


def _verification_attempts(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(VerificationAttempt.id).where(VerificationAttempt.attempted_at < cutoff)
                          .limit(job.batch)).all()
    return _delete_ids(session, VerificationAttempt.id, ids)


def _sign_in_failures(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(SignInFailure.id).where(SignInFailure.attempted_at < cutoff)
                          .limit(job.batch)).all()
    return _delete_ids(session, SignInFailure.id, ids)


def _idempotency_records(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    ids = session.scalars(select(IdempotencyRecord.id).where(IdempotencyRecord.created_at < cutoff)
                          .limit(job.batch)).all()
    return _delete_ids(session, IdempotencyRecord.id, ids)


def _chat_state(session: Session, job: RetentionJob, cutoff: datetime) -> int:
    # "keep_days after expiry": the cutoff is now - keep, and a row expired before it goes.
    ids = session.scalars(select(ChannelState.id).where(ChannelState.expires_at < cutoff)
                          .limit(job.batch)).all()
    return _delete_ids(session, ChannelState.id, ids)


def _delete_ids(session: Session, id_column: InstrumentedAttribute[int], ids: Sequence[int]) -> int:
    if not ids:
        return 0
    session.execute(delete(id_column.class_).where(id_column.in_(list(ids)))
                    .execution_options(synchronize_session=False))
    return len(ids)


def record_kinds() -> list[RecordKind]:
    """Every kind of record that holds personal data, in the order a run treats them."""
    return [
        RecordKind("ticket_details", _ticket_details),
        RecordKind("ticket_audit_text", _ticket_audit_text),
        RecordKind("photos", _photos),
        RecordKind("complaints", _complaints),
        RecordKind("rating_comments", _rating_comments),
        RecordKind("callback_reasons", _callback_reasons),
        RecordKind("conversations", _conversations, external=True),
        RecordKind("deliveries", _deliveries),
        RecordKind("listening_utterances", _listening_utterances),
        RecordKind("verification_attempts", _verification_attempts),
        RecordKind("sign_in_failures", _sign_in_failures),
        RecordKind("idempotency_records", _idempotency_records),
        RecordKind("chat_state", _chat_state),
    ]


def kind_names() -> list[str]:
    return [kind.name for kind in record_kinds()]


__all__ = ["RecordKind", "RetentionJob", "kind_names", "record_kinds"]
