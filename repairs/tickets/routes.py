"""The resident-facing ticket API, used by the bot and the action server on a verified resident's behalf.

Every query is scoped to the resident the channel identity belongs to: another resident's
reference answers 404, exactly like a reference that does not exist. The one exception is a household
linked to another's report (it said "me too" to a communal fault, or its own report was merged into it):
it may list and read that report, in a view without what the other household told us, and change nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Literal, cast

from fastapi import APIRouter, File, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, Table, literal, select, tuple_, union_all
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.selectable import NamedFromClause

from repairs.auth.dependencies import ContextDep, ResidentActor, ResidentDep
from repairs.complaints import handling
from repairs.context import ServiceContext
from repairs.database import UTCDateTime, transaction, utcnow
from repairs.idempotency.service import request_fingerprint, run_once, validate_key
from repairs.photos.processing import PhotoRejected, process_photo
from repairs.problems import Problem
from repairs.reported_facts import facts_or_422
from repairs.residents.models import Resident, Tenancy
from repairs.tickets import service
from repairs.tickets.lifecycle import ACCEPTS_INFORMATION
from repairs.tickets.models import OPEN_STATUSES, LinkedResident, Photo, Status, Ticket
from repairs.tickets.presenters import ticket_out
from repairs.tickets.references import normalise_reference
from repairs.tickets.schemas import (
    CancelBody,
    ComplaintCreate,
    ComplaintOut,
    InformationBody,
    PhotoOut,
    RatingBody,
    RatingOut,
    ReopenBody,
    TicketCreate,
    TicketOut,
    TicketPage,
    decode_cursor,
    encode_cursor,
)

router = APIRouter(prefix="/api/v1", tags=["tickets (resident)"])
log = logging.getLogger(__name__)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=400)]


def _not_found() -> Problem:
    return Problem(404, "not_found", "Repair not found", "No repair with that reference was found for you.")


def _load_own(session: Session, actor: ResidentActor, reference: str, *, lock: bool = False) -> Ticket:
    ref = normalise_reference(reference)
    if ref is None:
        raise _not_found()
    query = (
        select(Ticket)
        .where(Ticket.reference == ref, Ticket.resident_id == actor.resident_id)
        .options(selectinload(Ticket.photos), selectinload(Ticket.appointments))
    )
    if lock:
        query = query.with_for_update()
    ticket = session.scalar(query)
    if ticket is None:
        raise _not_found()
    return ticket


def visible_to(resident_id: int) -> ColumnElement[bool]:
    """The resident's own repairs, and other households' they are linked to (read only). Written as ids from
    a UNION ALL rather than `resident_id = … OR id IN (…)`: PostgreSQL answers the OR with a sequential scan
    of every ticket (measured 28 ms at 200,000), the union with two index scans (2 ms)."""
    own = _own_tickets()
    ids = union_all(select(own.c.id).where(own.c.resident_id == resident_id),
                    select(LinkedResident.ticket_id).where(LinkedResident.resident_id == resident_id))
    return Ticket.id.in_(ids)


@cache
def _own_tickets() -> NamedFromClause:
    """The tickets table under another name, for the subquery (made once: an ORM alias per request cost
    about 1 ms of CPU, more than the rest of building the query)."""
    return cast(Table, Ticket.__table__).alias("own_tickets")


def _out(ticket: Ticket, actor: ResidentActor, ctx: ServiceContext, now: datetime) -> TicketOut:
    return ticket_out(ticket, ctx.policy, now, linked=ticket.resident_id != actor.resident_id)


def _actor(actor: ResidentActor) -> service.Actor:
    return service.Actor(type="resident", id=str(actor.resident_id))


@router.post("/tickets", status_code=201, response_model=TicketOut, summary="Report a repair")
def create_ticket(
    body: TicketCreate, actor: ResidentDep, ctx: ContextDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    key = validate_key(idempotency_key)
    try:
        ctx.policy.category(body.category)
    except KeyError:
        raise Problem(
            422,
            "unknown_category",
            "Unknown category",
            "Use one of the category codes from GET /api/v1/categories.",
        ) from None
    facts = facts_or_422(body.facts, body.answers)

    def create(session: Session) -> tuple[int, dict[str, object]]:
        resident = session.get(
            Resident,
            actor.resident_id,
            options=[joinedload(Resident.tenancy).joinedload(Tenancy.property)],
        )
        if resident is None:
            raise Problem(403, "not_verified", "Not verified", "This chat is no longer linked to a resident.")
        new = service.NewTicket(
            category=body.category,
            description=body.description,
            location_type=body.location_type,
            location=body.location,
            block=body.block,
            floor=body.floor,
            access_notes=body.access_notes,
            availability=body.availability,
            reported_emergency=body.reported_emergency,
            vulnerable_present=body.vulnerable_present,
            channel=body.channel if body.channel != "api" else actor.channel,
            conversation=[line.model_dump() for line in body.conversation] if body.conversation else None,
            facts=facts,
        )
        try:
            created = service.create_ticket(
                session,
                ctx.policy,
                new,
                actor=_actor(actor),
                resident=resident,
                prop=resident.tenancy.property,
                officer_alert_chat=ctx.settings.officer_alert_chat,
            )
        except service.NotCouncilResponsibility as exc:
            raise Problem(
                422,
                "not_council_responsibility",
                "This repair is yours to arrange",
                exc.reason,
                advice=exc.advice,
            ) from None
        ticket = created.ticket
        # A new ticket has no photos or appointments yet: say so instead of querying for them.
        set_committed_value(ticket, "photos", [])
        set_committed_value(ticket, "appointments", [])
        out = ticket_out(ticket, ctx.policy, utcnow(), advice=created.advice)
        return 201, out.model_dump(mode="json")

    outcome = run_once(
        ctx.sessions,
        principal=actor.principal_key,
        key=key,
        fingerprint=request_fingerprint(body.model_dump(mode="json")),
        create=create,
    )
    # Ids and codes only: never the description, which is the resident's own words.
    log.info(
        "ticket created" if not outcome.replayed else "ticket create replayed",
        extra={
            "reference": outcome.body.get("reference"),
            "category": outcome.body.get("category"),
            "priority": outcome.body.get("priority"),
            "resident_id": actor.resident_id,
        },
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.get("/tickets", response_model=TicketPage, summary="The resident's repairs, newest first")
def list_tickets(
    actor: ResidentDep,
    ctx: ContextDep,
    status: Literal["open", "closed", "all"] = "all",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    # False: only the resident's own reports, for choosing one to act on (a photo, a cancel, a complaint).
    include_linked: bool = True,
) -> TicketPage:
    mine = visible_to(actor.resident_id) if include_linked else Ticket.resident_id == actor.resident_id
    query = (
        select(Ticket)
        .where(mine)
        .options(selectinload(Ticket.photos), selectinload(Ticket.appointments))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit + 1)
    )
    if status == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif status == "closed":
        query = query.where(Ticket.status.not_in(OPEN_STATUSES))
    if cursor:
        decoded = decode_cursor(cursor)
        if decoded is None:
            raise Problem(400, "invalid_cursor", "Cursor not valid", "Use next_cursor from a previous page.")
        moment, ident = decoded
        # A row comparison lets the planner seek straight to the cursor in the index.
        query = query.where(tuple_(Ticket.created_at, Ticket.id) < tuple_(literal(moment, UTCDateTime()), ident))
    now = utcnow()
    with transaction(ctx.sessions) as session:
        rows = list(session.scalars(query))
        items = [_out(t, actor, ctx, now) for t in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return TicketPage(items=items, next_cursor=next_cursor)


@router.get("/tickets/{reference}", response_model=TicketOut,
            summary="One of the resident's repairs, or another household's they are linked to")
def get_ticket(reference: str, actor: ResidentDep, ctx: ContextDep) -> TicketOut:
    ref = normalise_reference(reference)
    with transaction(ctx.sessions) as session:
        ticket = session.scalar(
            select(Ticket).where(Ticket.reference == ref, visible_to(actor.resident_id))
            .options(selectinload(Ticket.photos), selectinload(Ticket.appointments))
        ) if ref else None
        if ticket is None:
            raise _not_found()
        return _out(ticket, actor, ctx, utcnow())


@router.post("/tickets/{reference}/cancel", response_model=TicketOut, summary="Cancel a repair")
def cancel_ticket(reference: str, body: CancelBody, actor: ResidentDep, ctx: ContextDep) -> TicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load_own(session, actor, reference, lock=True)
        if ticket.status == Status.CANCELLED:
            return ticket_out(ticket, ctx.policy, utcnow())  # a repeated cancel is not an error
        _refusable(
            lambda: service.resident_cancel(session, ctx.policy, ticket, actor=_actor(actor), reason=body.reason)
        )
        return ticket_out(ticket, ctx.policy, utcnow())


@router.post("/tickets/{reference}/information", response_model=TicketOut, summary="Add information")
def add_information(reference: str, body: InformationBody, actor: ResidentDep, ctx: ContextDep,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Each call adds a line to the repair's history. With an Idempotency-Key (the actions send one taken from
    the resident's turn) the same call sent again, by a retry or by an action server that was stopped and woke,
    adds nothing more and gets the first answer."""

    def add(session: Session) -> tuple[int, dict[str, object]]:
        ticket = _load_own(session, actor, reference, lock=True)
        _refusable(lambda: service.add_information(session, ticket, actor=_actor(actor), text=body.text))
        return 200, ticket_out(ticket, ctx.policy, utcnow()).model_dump(mode="json")

    if idempotency_key is None:
        with transaction(ctx.sessions) as session:
            status_code, answer = add(session)
        return JSONResponse(answer, status_code=status_code)
    outcome = run_once(ctx.sessions, principal=actor.principal_key, key=validate_key(idempotency_key),
                       fingerprint=request_fingerprint({"information": reference, **body.model_dump(mode="json")}),
                       create=add)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.post("/tickets/{reference}/reopen", response_model=TicketOut, summary="Reopen: it is not fixed")
def reopen_ticket(reference: str, body: ReopenBody, actor: ResidentDep, ctx: ContextDep) -> TicketOut:
    with transaction(ctx.sessions) as session:
        ticket = _load_own(session, actor, reference, lock=True)
        _refusable(
            lambda: service.resident_reopen(session, ctx.policy, ticket, actor=_actor(actor), reason=body.reason)
        )
        return ticket_out(ticket, ctx.policy, utcnow())


@router.post("/tickets/{reference}/rating", response_model=RatingOut, summary="Rate a finished repair")
def rate_ticket(reference: str, body: RatingBody, actor: ResidentDep, ctx: ContextDep) -> RatingOut:
    with transaction(ctx.sessions) as session:
        ticket = _load_own(session, actor, reference, lock=True)
        _refusable(
            lambda: service.rate(
                session,
                ctx.policy,
                ticket,
                actor=_actor(actor),
                resident_id=actor.resident_id,
                score=body.score,
                comment=body.comment,
                fixed=body.fixed,
            )
        )
        return RatingOut(reference=ticket.reference, score=body.score, fixed=body.fixed, status=ticket.status)


@router.post(
    "/tickets/{reference}/photos",
    status_code=201,
    response_model=PhotoOut,
    summary="Add a photo (JPEG, PNG, WEBP, GIF; at most 10 MB; location data is removed)",
)
def add_photo(reference: str, actor: ResidentDep, ctx: ContextDep, file: Annotated[UploadFile, File()]) -> PhotoOut:
    raw = _read_capped(file, ctx.settings.max_photo_bytes)
    with transaction(ctx.sessions) as session:
        ticket = _load_own(session, actor, reference)
        if ticket.status not in ACCEPTS_INFORMATION:
            raise Problem(409, "closed_ticket", "Repair closed", f"Repair {ticket.reference} is {ticket.status.value}.")
    return store_photo(ctx, reference_ticket_id=ticket.id, raw=raw, uploaded_by="resident", actor=_actor(actor))


@router.get(
    "/tickets/{reference}/photos/{photo_id}",
    summary="A photo on one of the resident's repairs",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_photo(reference: str, photo_id: str, actor: ResidentDep, ctx: ContextDep) -> Response:
    with transaction(ctx.sessions) as session:
        ticket = _load_own(session, actor, reference)
        photo = next((p for p in ticket.photos if p.public_id == photo_id), None)
        if photo is None:
            raise Problem(404, "not_found", "Photo not found")
        key, content_type = photo.storage_key, photo.content_type
    try:
        data = ctx.photos.open(key)
    except KeyError:
        raise Problem(404, "not_found", "Photo not found") from None
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/complaints", status_code=201, response_model=ComplaintOut,
             responses={200: {"model": ComplaintOut, "description": "Taken as asking for stage 2 of a complaint "
                                                                     "about the same repair answered lately"}},
             summary="Make a complaint (stage 1, or stage 2 of one about the same repair answered lately)")
def create_complaint(
    body: ComplaintCreate, actor: ResidentDep, ctx: ContextDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    key = validate_key(idempotency_key)

    def create(session: Session) -> tuple[int, dict[str, object]]:
        ticket = _load_own(session, actor, body.ticket_reference) if body.ticket_reference else None
        complaint, escalated = handling.from_resident(session, ctx.policy, resident_id=actor.resident_id,
                                                      ticket=ticket, text=body.text, actor=_actor(actor))
        status = 200 if escalated else 201
        out = ComplaintOut(
            reference=complaint.reference,
            stage=complaint.stage,
            ticket_reference=ticket.reference if ticket else None,
            acknowledge_by=complaint.acknowledge_by,
            respond_by=complaint.respond_by,
            respond_by_text=ctx.policy.describe_deadline(complaint.respond_by, utcnow()),
            acknowledge_by_text=ctx.policy.describe_deadline(complaint.acknowledge_by, utcnow()),
        )
        return status, out.model_dump(mode="json")

    outcome = run_once(
        ctx.sessions,
        principal=f"{actor.principal_key}:complaints",
        key=key,
        fingerprint=request_fingerprint(body.model_dump(mode="json")),
        create=create,
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)


def _refusable(action: Callable[[], object]) -> None:
    try:
        action()
    except service.TicketActionRefused as exc:
        raise Problem(409, exc.code, "Not possible now", exc.message) from None


def _read_capped(file: UploadFile, max_bytes: int) -> bytes:
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Problem(
            413,
            "too_large",
            "Photo too large",
            f"Photos can be at most {max_bytes // (1024 * 1024)} MB. Try sending a smaller one.",
        )
    return data


def store_photo(
    ctx: ServiceContext, *, reference_ticket_id: int, raw: bytes, uploaded_by: str, actor: service.Actor
) -> PhotoOut:
    """Validate and re-encode (CPU work, outside any transaction), store the file, then record it."""
    try:
        processed = process_photo(raw, max_bytes=ctx.settings.max_photo_bytes)
    except PhotoRejected as exc:
        status = 413 if exc.code == "too_large" else 415
        raise Problem(status, exc.code, "Photo not accepted", exc.message) from None
    key = ctx.photos.save(processed.data, content_type=processed.content_type)
    try:
        with transaction(ctx.sessions) as session:
            ticket = session.get(Ticket, reference_ticket_id)
            assert ticket is not None
            photo = Photo(
                public_id=secrets.token_hex(16),
                ticket_id=ticket.id,
                storage_key=key,
                content_type=processed.content_type,
                width=processed.width,
                height=processed.height,
                size_bytes=len(processed.data),
                sha256=processed.sha256,
                uploaded_by=uploaded_by,
                created_at=utcnow(),
            )
            session.add(photo)
            session.flush()
            session.add(service.record_event(ticket, actor, "photo_added", data={"photo": photo.public_id}))
            return PhotoOut(
                id=photo.public_id,
                width=photo.width,
                height=photo.height,
                size_bytes=photo.size_bytes,
                created_at=photo.created_at,
            )
    except Exception:
        ctx.photos.delete(key)  # no orphaned files when the record could not be written
        raise
