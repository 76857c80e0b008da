"""The officers' queue: which tickets, in what order (soonest to breach first), one keyset page at a time.

One query for the JSON API and the workspace page, so both show the same tickets in the same order, and
the same facts about each: among them how many other households a shared fault affects (residents who said
"me too", or whose duplicate was merged into it), counted by the query itself rather than once per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from repairs_common.postcodes import normalise_postcode
from sqlalchemy import ScalarSelect, Select, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from repairs.database import UTCDateTime
from repairs.residents.models import Property
from repairs.tickets.models import LinkedResident, Priority, Status, Ticket
from repairs.tickets.references import normalise_reference


@dataclass(frozen=True)
class QueueFilters:
    priority: Priority | None = None
    category: str | None = None
    status: Status | None = None
    block: str | None = None
    estate: str | None = None
    overdue: bool | None = None
    vulnerable: bool | None = None
    channel: str | None = None
    hazard_group: str | None = None  # Awaab's Law hazard group (policy.yml awaab.hazard_groups)
    q: str | None = None  # a reference, a postcode, or part of an address or block name
    include_closed: bool = False


@dataclass(frozen=True)
class QueueEntry:
    ticket: Ticket
    postcode: str | None
    address: str | None
    estate: str | None
    # Other households linked to the ticket (0 for most): they hear its news, and a communal fault
    # affects them too.
    linked_households: int = 0

    @property
    def households_affected(self) -> int:
        """The reporting household and the linked ones, as shared_faults.households_affected counts them."""
        return (1 if self.ticket.resident_id is not None else 0) + self.linked_households


@dataclass(frozen=True)
class QueuePageResult:
    entries: list[QueueEntry]
    # The (due_at, id) of the last row shown, when there is another page after it.
    next_key: tuple[datetime, int] | None


def linked_households_count() -> ScalarSelect[int]:
    """The number of other households linked to the row's ticket: a correlated count, evaluated only for
    the page's rows, each a seek on ix_ticket_linked_residents_ticket_id (never the reporter themselves,
    as in shared_faults.households_affected)."""
    return (
        select(func.count(LinkedResident.id))
        .where(
            LinkedResident.ticket_id == Ticket.id,
            LinkedResident.resident_id != func.coalesce(Ticket.resident_id, -1),
        )
        .correlate(Ticket)
        .scalar_subquery()
    )


def queue_query(filters: QueueFilters, *, now: datetime) -> Select[Ticket, str, str, str | None, int]:
    query = (
        select(Ticket, Property.postcode, Property.address_line1, Property.estate, linked_households_count())
        .outerjoin(Property, Property.id == Ticket.property_id)
        .order_by(Ticket.due_at, Ticket.id)
    )
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    elif not filters.include_closed:
        query = query.where(Ticket.is_open.is_(True))
    if filters.priority is not None:
        query = query.where(Ticket.priority == filters.priority)
    if filters.category:
        query = query.where(Ticket.category == filters.category)
    if filters.block:
        query = query.where(or_(Ticket.block == filters.block, Property.block == filters.block))
    if filters.estate:
        query = query.where(Property.estate == filters.estate)
    if filters.overdue is True:
        query = query.where(Ticket.due_at < now)
    elif filters.overdue is False:
        query = query.where(Ticket.due_at >= now)
    if filters.vulnerable is not None:
        query = query.where(Ticket.vulnerable.is_(filters.vulnerable))
    if filters.channel:
        query = query.where(Ticket.channel == filters.channel)
    if filters.hazard_group:
        query = query.where(Ticket.hazard_group == filters.hazard_group)
    if filters.q and filters.q.strip():
        term = filters.q.strip()
        ref = normalise_reference(term)
        postcode = normalise_postcode(term)
        if ref:
            query = query.where(Ticket.reference == ref)
        elif postcode:
            query = query.where(Property.postcode == postcode)
        else:
            like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(Property.address_line1.ilike(like, escape="\\"), Ticket.block.ilike(like, escape="\\"))
            )
    return query


def queue_page(
    session: Session,
    filters: QueueFilters,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> QueuePageResult:
    query = queue_query(filters, now=now).limit(limit + 1)
    if after is not None:
        moment, ident = after
        # A row comparison lets the planner seek straight to the cursor in the index.
        query = query.where(tuple_(Ticket.due_at, Ticket.id) > tuple_(literal(moment, UTCDateTime()), ident))
    rows = session.execute(query).all()
    entries = [
        QueueEntry(ticket=t, postcode=postcode, address=address, estate=estate, linked_households=int(linked or 0))
        for t, postcode, address, estate, linked in rows[:limit]
    ]
    next_key = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_key = (last.due_at, last.id)
    return QueuePageResult(entries=entries, next_key=next_key)


def awaab_clock(ticket: Ticket) -> tuple[str, datetime] | None:
    """The Awaab's Law deadline that runs next, named: investigation first, then the written summary
    or the safety work, whichever is sooner."""
    if not ticket.awaab_applies or not ticket.is_open:
        return None
    if ticket.investigated_at is None:
        if ticket.awaab_investigate_by is None:
            return None
        return "investigate", ticket.awaab_investigate_by
    clocks = [
        (moment, name)
        for name, moment in (("written summary", ticket.awaab_summary_by), ("safety work", ticket.awaab_safety_work_by))
        if moment is not None
    ]
    if not clocks:
        return None
    moment, name = min(clocks)
    return name, moment


def awaab_next(ticket: Ticket) -> datetime | None:
    clock = awaab_clock(ticket)
    return clock[1] if clock else None
