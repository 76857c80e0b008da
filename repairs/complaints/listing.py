"""Finding complaints for officers: the list by which deadline runs out first, and one complaint by reference."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from repairs.complaints.handling import ANSWERED, OPEN, next_deadline_column
from repairs.tickets.models import Complaint, Ticket
from repairs.tickets.references import COMPLAINT_PREFIX, normalise_reference


class Show(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    ALL = "all"


@dataclass(frozen=True)
class Listed:
    complaint: Complaint
    ticket_reference: str | None


def complaint_list(session: Session, show: Show, *, limit: int) -> tuple[list[Listed], int]:
    """Up to `limit` complaints and how many there are in all. Open ones come first, the soonest deadline
    (acknowledge, else answer) first; answered ones after them, the latest answer first."""
    where = {
        Show.OPEN: [Complaint.status == OPEN],
        Show.ANSWERED: [Complaint.status == ANSWERED],
        Show.ALL: [],
    }[show]
    total = session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0
    rows = session.execute(
        select(Complaint, Ticket.reference)
        .outerjoin(Ticket, Ticket.id == Complaint.ticket_id)
        .where(*where)
        .order_by((Complaint.status == OPEN).desc(), next_deadline_column(), Complaint.responded_at.desc().nulls_last(),
                  Complaint.id)
        .limit(limit)
    ).all()
    return [Listed(complaint, ticket_ref) for complaint, ticket_ref in rows], int(total)


def find_complaint(session: Session, reference: str, *, lock: bool = False) -> Complaint | None:
    """The complaint with `reference` as officers type it ('cp 7k3q9m' too), with its history loaded."""
    ref = normalise_reference(reference)
    if ref is None or not ref.startswith(COMPLAINT_PREFIX + "-"):
        return None
    query = select(Complaint).where(Complaint.reference == ref).options(selectinload(Complaint.events))
    return session.scalar(query.with_for_update() if lock else query)
