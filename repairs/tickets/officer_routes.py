"""The officer API: the queue, a ticket in full, and the changes officers make."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from repairs.appointments.slots import SlotUnavailable, free_slots
from repairs.auth.dependencies import ContextDep, OfficerDep, Principal
from repairs.database import transaction, utcnow
from repairs.problems import Problem
from repairs.schemas import LongText
from repairs.tickets import merging, service
from repairs.tickets.lifecycle import ALLOWED_TRANSITIONS, InvalidTransition
from repairs.tickets.models import Priority, Status, Ticket
from repairs.tickets.presenters import ticket_out
from repairs.tickets.queue import QueueEntry, QueueFilters, awaab_next, queue_page
from repairs.tickets.references import normalise_reference
from repairs.tickets.schemas import TicketOut, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/officer", tags=["officer"])


class QueueRow(BaseModel):
    reference: str
    category: str
    priority: Priority
    emergency: bool
    status: Status
    summary: str
    block: str | None
    postcode: str | None
    channel: str
    vulnerable: bool
    reported_at: datetime
    due_at: datetime
    overdue: bool
    awaab_next: datetime | None
    # The HHSRS hazard's group in Awaab's Law's phases (policy.yml awaab.hazard_groups); null for none.
    hazard_group: str | None = None
    # Other households linked to it ("me too" on a shared fault, or a merged duplicate's), as on the ticket.
    linked_households: int = 0


class QueuePage(BaseModel):
    items: list[QueueRow]
    next_cursor: str | None


class EventOut(BaseModel):
    at: datetime
    actor_type: str
    actor_id: str | None
    kind: str
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]


class ResidentSummary(BaseModel):
    name: str
    tenure: str
    vulnerabilities: list[str]
    phone: str | None
    email: str | None
    address: str


class OfficerTicketOut(BaseModel):
    ticket: TicketOut
    resident: ResidentSummary | None
    trade: str | None
    assigned_officer_id: int | None
    priority_reasons: list[str]
    # What gave the priority: the rule (null for the category's default), the path (facts, phrases, detector;
    # null for tickets from before it was recorded) and the facts decided on (repairs_common.facts' wire form).
    priority_rule: str | None = None
    priority_path: str | None = None
    facts: dict[str, Any] | None = None
    # The HHSRS hazard (repairs.policy.vocabulary) and its group in Awaab's Law's phases; null for none.
    hazard: str | None = None
    hazard_group: str | None = None
    allowed_next: list[Status]
    events: list[EventOut]
    access_notes: str | None
    availability: str | None
    # Someone outside the assistant (an Open311 client) who reported it.
    reporter_name: str | None = None
    reporter_email: str | None = None
    reporter_phone: str | None = None
    # Other households who hear this ticket's news (residents of duplicates merged into it).
    linked_households: int = 0


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status
    note: str | None = Field(default=None, max_length=4000)


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    officer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    trade: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[a-z_]+$")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText


class MessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText


class SlotOut(BaseModel):
    slot_id: str
    date: str
    period: str
    label: str
    starts_at: datetime
    ends_at: datetime
    free: int


class BookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_id: str = Field(min_length=1, max_length=40)


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: str = Field(min_length=1, max_length=20, description="The reference of the ticket for the same job")


class InvestigatedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime | None = None


def _actor(principal: Principal) -> service.Actor:
    return service.Actor(type="officer", id=str(principal.officer_id))


def _load(session: Session, reference: str, *, lock: bool = False) -> Ticket:
    ref = normalise_reference(reference)
    ticket = None
    if ref is not None:
        query = (
            select(Ticket)
            .where(Ticket.reference == ref)
            .options(selectinload(Ticket.photos), selectinload(Ticket.appointments), selectinload(Ticket.events))
        )
        if lock:
            query = query.with_for_update()
        ticket = session.scalar(query)
    if ticket is None:
        raise Problem(404, "not_found", "Repair not found")
    return ticket


@router.get("/tickets", response_model=QueuePage, summary="Open tickets, soonest to breach first")
def queue(
    _officer: OfficerDep,
    ctx: ContextDep,
    priority: Priority | None = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    status: Status | None = None,
    block: Annotated[str | None, Query(max_length=100)] = None,
    estate: Annotated[str | None, Query(max_length=100)] = None,
    overdue: bool | None = None,
    vulnerable: bool | None = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    hazard_group: Annotated[str | None, Query(max_length=40, description="An Awaab's Law hazard group")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Reference, postcode or address")] = None,
    include_closed: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> QueuePage:
    filters = QueueFilters(
        priority=priority,
        category=category,
        status=status,
        block=block,
        estate=estate,
        overdue=overdue,
        vulnerable=vulnerable,
        channel=channel,
        hazard_group=hazard_group,
        q=q,
        include_closed=include_closed,
    )
    after = None
    if cursor:
        after = decode_cursor(cursor)
        if after is None:
            raise Problem(400, "invalid_cursor", "Cursor not valid", "Use next_cursor from a previous page.")
    now = utcnow()
    with transaction(ctx.sessions) as session:
        page = queue_page(session, filters, now=now, limit=limit, after=after)
    items = [_queue_row(entry, now) for entry in page.entries]
    next_cursor = encode_cursor(*page.next_key) if page.next_key else None
    return QueuePage(items=items, next_cursor=next_cursor)


def _queue_row(entry: QueueEntry, now: datetime) -> QueueRow:
    t = entry.ticket
    return QueueRow(
        reference=t.reference,
        category=t.category,
        priority=t.priority,
        emergency=t.emergency,
        status=t.status,
        summary=t.summary,
        block=t.block,
        postcode=entry.postcode,
        channel=t.channel,
        vulnerable=t.vulnerable,
        reported_at=t.reported_at,
        due_at=t.due_at,
        overdue=t.is_open and t.due_at < now,
        awaab_next=awaab_next(t),
        hazard_group=t.hazard_group,
        linked_households=entry.linked_households,
    )


def _officer_view(ticket: Ticket, ctx: Any, session: Session) -> OfficerTicketOut:
    resident = ticket.resident
    summary = None
    if resident is not None:
        prop = resident.tenancy.property
        summary = ResidentSummary(
            name=resident.full_name,
            tenure=resident.tenure.value,
            vulnerabilities=list(resident.vulnerabilities),
            phone=resident.phone,
            email=resident.email,
            address=", ".join(p for p in (prop.address_line1, prop.address_line2, prop.postcode) if p),
        )
    return OfficerTicketOut(
        ticket=ticket_out(ticket, ctx.policy, utcnow()),
        resident=summary,
        trade=ticket.trade,
        assigned_officer_id=ticket.assigned_officer_id,
        priority_reasons=list(ticket.priority_reasons or []),
        priority_rule=ticket.priority_rule,
        priority_path=ticket.priority_path,
        facts=ticket.facts,
        hazard=ticket.hazard,
        hazard_group=ticket.hazard_group,
        allowed_next=sorted(ALLOWED_TRANSITIONS[ticket.status]),
        events=[
            EventOut(
                at=e.at,
                actor_type=e.actor_type,
                actor_id=e.actor_id,
                kind=e.kind,
                from_status=e.from_status,
                to_status=e.to_status,
                data=e.data or {},
            )
            for e in ticket.events
        ],
        access_notes=ticket.access_notes,
        availability=ticket.availability,
        reporter_name=ticket.reporter_name,
        reporter_email=ticket.reporter_email,
        reporter_phone=ticket.reporter_phone,
        linked_households=merging.linked_households(session, ticket),
    )


@router.get("/tickets/{reference}", response_model=OfficerTicketOut, summary="A ticket in full")
def get_ticket(reference: str, _officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    with transaction(ctx.sessions) as session:
        return _officer_view(_load(session, reference), ctx, session)


@router.post("/tickets/{reference}/status", response_model=OfficerTicketOut, summary="Change status")
def change_status(reference: str, body: StatusBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference, lock=True)
        try:
            service.change_status(session, ctx.policy, ticket, body.status, actor=_actor(officer), note=body.note)
        except InvalidTransition as exc:
            raise Problem(409, "invalid_transition", "Status change not allowed", str(exc)) from None
        session.refresh(ticket, ["events"])
        return _officer_view(ticket, ctx, session)


@router.post("/tickets/{reference}/assign", response_model=OfficerTicketOut, summary="Assign to an officer or trade")
def assign(reference: str, body: AssignBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference, lock=True)
        try:
            service.assign(session, ticket, actor=_actor(officer), officer_id=body.officer_id, trade=body.trade)
        except service.TicketActionRefused as exc:
            if exc.code == "nothing_to_assign":
                raise Problem(422, "invalid_request", "Nothing to assign", "Give officer_id, trade, or both.") from None
            raise Problem(422, exc.code, "No such officer", exc.message) from None
        session.refresh(ticket, ["events"])
        return _officer_view(ticket, ctx, session)


@router.post("/tickets/{reference}/notes", response_model=OfficerTicketOut, summary="Add an internal note")
def add_note(reference: str, body: NoteBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference, lock=True)
        service.add_note(session, ticket, actor=_actor(officer), text=body.text)
        session.refresh(ticket, ["events"])
        return _officer_view(ticket, ctx, session)


@router.post(
    "/tickets/{reference}/messages",
    response_model=OfficerTicketOut,
    summary="Send the resident a message on their channel",
)
def message_resident(reference: str, body: MessageBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference, lock=True)
        try:
            service.message_resident(session, ticket, actor=_actor(officer), text=body.text)
        except service.TicketActionRefused as exc:
            raise Problem(409, exc.code, "No resident to message", exc.message) from None
        session.refresh(ticket, ["events"])
        return _officer_view(ticket, ctx, session)


@router.get("/tickets/{reference}/slots", response_model=list[SlotOut], summary="Free appointment slots")
def slots(
    reference: str, _officer: OfficerDep, ctx: ContextDep, days: Annotated[int, Query(ge=1, le=60)] = 10
) -> list[SlotOut]:
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference)
        found = free_slots(
            session, ctx.slots, ctx.policy.calendar, trade=ticket.trade or "multi_trade", now=utcnow(), days=days
        )
    return [
        SlotOut(
            slot_id=s.slot_id,
            date=s.day.isoformat(),
            period=s.period,
            label=s.label,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            free=s.free,
        )
        for s in found
    ]


@router.post(
    "/tickets/{reference}/appointments", response_model=OfficerTicketOut, summary="Book (or move) the appointment"
)
def book_appointment(reference: str, body: BookBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference, lock=True)
        try:
            service.book_appointment(
                session, ctx.policy, ctx.slots, ticket, actor=_actor(officer), slot_id=body.slot_id
            )
        except service.TicketActionRefused as exc:
            raise Problem(409, exc.code, "Repair closed", exc.message) from None
        except SlotUnavailable as exc:
            raise Problem(409, "slot_unavailable", "Slot not available", str(exc)) from None
        session.refresh(ticket, ["events", "appointments"])
        return _officer_view(ticket, ctx, session)


@router.post(
    "/tickets/{reference}/merge",
    response_model=OfficerTicketOut,
    summary="Merge this duplicate into the ticket for the same job",
)
def merge(reference: str, body: MergeBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    duplicate_ref, main_ref = normalise_reference(reference), normalise_reference(body.into)
    if duplicate_ref is None:
        raise Problem(404, "not_found", "Repair not found")
    if main_ref is None:
        raise Problem(422, "unknown_ticket", "No such ticket", "Give the reference of the ticket to merge into.")
    with transaction(ctx.sessions) as session:
        duplicate, main = merging.lock_pair(session, duplicate_ref, main_ref)
        if duplicate is None:
            raise Problem(404, "not_found", "Repair not found")
        if main is None:
            raise Problem(422, "unknown_ticket", "No such ticket", f"There is no repair {main_ref}.")
        try:
            merging.merge(session, ctx.policy, duplicate, main, actor=_actor(officer),
                          officer_alert_chat=ctx.settings.officer_alert_chat)
        except service.TicketActionRefused as exc:
            raise Problem(409, exc.code, "Merge not possible", exc.message) from None
        session.refresh(duplicate, ["events"])
        return _officer_view(duplicate, ctx, session)


@router.post(
    "/tickets/{reference}/investigated",
    response_model=OfficerTicketOut,
    summary="Record the hazard investigation (starts Awaab's Law follow-on clocks)",
)
def investigated(reference: str, body: InvestigatedBody, officer: OfficerDep, ctx: ContextDep) -> OfficerTicketOut:
    at = body.at or utcnow()
    if at.tzinfo is None:
        raise Problem(422, "invalid_request", "Time zone needed", "Give the time with a UTC offset.")
    if at > utcnow():
        raise Problem(
            422, "invalid_request", "Time in the future", "An investigation cannot be recorded ahead of time."
        )
    with transaction(ctx.sessions) as session:
        ticket = _load(session, reference, lock=True)
        service.record_investigation(session, ctx.policy, ticket, actor=_actor(officer), at=at)
        session.refresh(ticket, ["events"])
        return _officer_view(ticket, ctx, session)
