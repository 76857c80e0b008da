"""Removing a record's personal data while the record itself (and every figure counted from it) stays.

Shared by the retention schedule (records past their period) and an erasure (one resident's records now).
Each function takes the ids to treat, works in the caller's transaction, and marks what it did so it is done
once, and leaves a ticket's `updated_at` as it was: removing words is not a change to the repair, and a merged
ticket's end is read from it. Audit entries (ticket and complaint events) are append-only to the application;
only these functions rewrite their free text, with Core updates that the ORM's append-only guards do not see,
on purpose: the entry (who did what, when) stays, the words go.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from repairs.photos.storage import PhotoStore
from repairs.tickets.models import Complaint, ComplaintEvent, LinkedResident, Photo, Ticket, TicketEvent

# What a ticket says in place of the resident's words once they are gone.
REMOVED_SUMMARY = "Details removed (personal data)"
REMOVED_MARK = {"removed": True}
# Ticket events whose `data` holds words a person wrote: the chat lines a report came from, what the resident
# added, officers' notes, a status change's note.
TICKET_TEXT_EVENTS = ("conversation", "information_added", "note", "status_changed")
# Complaint events whose `data` holds the answer's or the escalation's words.
COMPLAINT_TEXT_EVENTS = ("answered", "escalated")


def remove_ticket_details(session: Session, ticket_ids: Sequence[int], *, now: datetime) -> int:
    """The report's free text and contact details, and who reported it: the category, priority, home, dates
    and status (all the reports count) stay. Households linked to the ticket are unlinked."""
    if not ticket_ids:
        return 0
    ids = list(ticket_ids)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id.in_(ids), Ticket.details_removed_at.is_(None))
        .values(description="", summary=REMOVED_SUMMARY, location=None, access_notes=None, availability=None,
                reporter_name=None, reporter_email=None, reporter_phone=None, facts=None, resident_id=None,
                details_removed_at=now, updated_at=Ticket.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(LinkedResident).where(LinkedResident.ticket_id.in_(ids))
                    .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def remove_ticket_audit_text(session: Session, ticket_ids: Sequence[int], *, now: datetime) -> int:
    """The words in a ticket's audit entries; the entries stay. Returns how many tickets were treated."""
    if not ticket_ids:
        return 0
    ids = list(ticket_ids)
    session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind.in_(TICKET_TEXT_EVENTS))
        .values(data=REMOVED_MARK)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Ticket).where(Ticket.id.in_(ids), Ticket.audit_text_removed_at.is_(None))
        .values(audit_text_removed_at=now, updated_at=Ticket.updated_at).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def remove_complaint_words(session: Session, complaint_ids: Sequence[int], *, now: datetime) -> int:
    """A complaint's words and its answers' words; its stage, dates and deadlines (the complaint figures) stay."""
    if not complaint_ids:
        return 0
    ids = list(complaint_ids)
    session.execute(
        update(ComplaintEvent)
        .where(ComplaintEvent.complaint_id.in_(ids), ComplaintEvent.kind.in_(COMPLAINT_TEXT_EVENTS))
        .values(data=REMOVED_MARK)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Complaint).where(Complaint.id.in_(ids), Complaint.details_removed_at.is_(None))
        .values(text="", response=None, details_removed_at=now).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_photos(session: Session, store: PhotoStore, photo_ids: Sequence[int]) -> int:
    """The images first, then their rows: a crash between the two leaves rows whose files are already gone,
    which the next run deletes again (deleting a missing file is not an error), never a file nobody points at."""
    if not photo_ids:
        return 0
    rows = session.execute(select(Photo.id, Photo.storage_key).where(Photo.id.in_(list(photo_ids)))).all()
    for _photo_id, key in rows:
        with contextlib.suppress(KeyError):  # a key the store does not accept: nothing of ours to delete
            store.delete(key)
    session.execute(delete(Photo).where(Photo.id.in_([photo_id for photo_id, _ in rows]))
                    .execution_options(synchronize_session=False))
    return len(rows)
