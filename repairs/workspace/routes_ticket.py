"""The ticket page (`/officer/tickets/{reference}`) and the actions an officer takes on it.

Each action is a POST form with the session's CSRF token, and goes through the same service functions
as the officer JSON API, so the rules (allowed transitions, free slots, who can be messaged, merges) live
in one place and every change lands in the ticket's audit trail with the officer. A change that works
redirects back (303) with `?done=<what>`, a fixed message chosen here (nothing the officer typed goes in a
URL); one that is refused shows the page again with the reason next to the form and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from repairs.appointments.slots import SlotUnavailable
from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.tickets import merging, service
from repairs.tickets.lifecycle import InvalidTransition
from repairs.tickets.models import Photo, Status, Ticket
from repairs.tickets.references import normalise_reference
from repairs.workspace.auth import CsrfForm, CurrentOfficer, WorkspaceOfficer
from repairs.workspace.forms import FormProblem, field, kept, long_text, officer_actor, optional_long_text
from repairs.workspace.templating import render
from repairs.workspace.ticket_view import TicketPage, build, find_ticket

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]

DONE = {
    "assigned": "Assignment saved.",
    "status": "Status changed. If the resident should hear about it, they have been sent an update.",
    "booked": "Appointment saved. The resident has been sent the time on their channel.",
    "note": "Internal note added. The resident does not see it.",
    "message": "Message queued for the resident on their channel.",
    "merged": "Merged. This report is closed as a duplicate; its resident has been told and linked.",
    "investigated": "Investigation recorded: the Awaab's Law follow-on clocks have started.",
}

@dataclass(frozen=True)
class Refused:
    form: str
    message: str
    status: int


NOT_FOUND = "not_found"


def _page(ctx: ServiceContext, reference: str, officer_id: int) -> TicketPage | None:
    with transaction(ctx.sessions) as session:
        ticket = find_ticket(session, reference)
        return None if ticket is None else build(session, ctx, ticket, utcnow(), officer_id)


async def _show(
    request: Request,
    officer: WorkspaceOfficer,
    page: TicketPage,
    *,
    flash: str | None = None,
    refused: Refused | None = None,
    kept: dict[str, str] | None = None,
) -> HTMLResponse:
    return await render(
        request,
        "ticket.html",
        officer,
        status_code=refused.status if refused else 200,
        t=page,
        flash=flash,
        errors={refused.form: refused.message} if refused else {},
        kept=kept or {},
    )


async def _missing(request: Request, officer: WorkspaceOfficer, reference: str) -> HTMLResponse:
    shown = normalise_reference(reference) or reference[:20]
    return await render(request, "ticket_missing.html", officer, status_code=404, reference=shown)


@router.get("/tickets/{reference}", response_class=HTMLResponse)
async def ticket_page(reference: str, request: Request, officer: CurrentOfficer, ctx: Context) -> Response:
    page = await run_in_threadpool(_page, ctx, reference, officer.id)
    if page is None:
        return await _missing(request, officer, reference)
    return await _show(request, officer, page, flash=DONE.get(request.query_params.get("done", "")))


@router.get("/tickets/{reference}/photos/{photo_id}")
async def ticket_photo(reference: str, photo_id: str, request: Request, officer: CurrentOfficer,
                       ctx: Context) -> Response:
    """A photo on the ticket, for signed-in officers only (never cached: see WorkspaceHeaders)."""

    def load() -> tuple[bytes, str] | None:
        ref = normalise_reference(reference)
        if ref is None or len(photo_id) > 32:
            return None
        with transaction(ctx.sessions) as session:
            found = session.execute(
                select(Photo.storage_key, Photo.content_type)
                .join(Ticket, Ticket.id == Photo.ticket_id)
                .where(Ticket.reference == ref, Photo.public_id == photo_id)
            ).first()
        if found is None:
            return None
        key, content_type = found
        try:
            return ctx.photos.open(key), content_type
        except KeyError:
            return None

    found = await run_in_threadpool(load)
    if found is None:
        return await render(request, "ticket_missing.html", officer, status_code=404, reference=None)
    data, content_type = found
    return Response(data, media_type=content_type, headers={"Content-Disposition": "inline"})


# -- actions ------------------------------------------------------------------------------------------


def _load(session: Session, reference: str, *, lock: bool) -> Ticket | None:
    ref = normalise_reference(reference)
    if ref is None:
        return None
    query = select(Ticket).where(Ticket.reference == ref).options(selectinload(Ticket.appointments))
    return session.scalar(query.with_for_update() if lock else query)


def _apply(
    ctx: ServiceContext, reference: str, form_name: str, change: Callable[[Session, Ticket], None], lock: bool
) -> Refused | str | None:
    """Run `change` on the (locked) ticket in one transaction: None when done, NOT_FOUND, or why not
    (the transaction is then rolled back, so a refused action leaves nothing behind)."""
    try:
        with transaction(ctx.sessions) as session:
            ticket = _load(session, reference, lock=lock)
            if ticket is None:
                return NOT_FOUND
            change(session, ticket)
    except FormProblem as exc:
        return Refused(form_name, str(exc), 422)
    except service.TicketActionRefused as exc:
        return Refused(form_name, exc.message, 409)
    except InvalidTransition as exc:
        return Refused(form_name, str(exc), 409)
    except SlotUnavailable as exc:
        return Refused(form_name, str(exc), 409)
    return None


async def _act(
    request: Request,
    officer: WorkspaceOfficer,
    ctx: ServiceContext,
    reference: str,
    form: FormData,
    form_name: str,
    done: str,
    change: Callable[[Session, Ticket], None],
    *,
    lock: bool = True,
) -> Response:
    outcome = await run_in_threadpool(_apply, ctx, reference, form_name, change, lock)
    if outcome == NOT_FOUND:
        return await _missing(request, officer, reference)
    if isinstance(outcome, Refused):
        page = await run_in_threadpool(_page, ctx, reference, officer.id)
        if page is None:
            return await _missing(request, officer, reference)
        return await _show(request, officer, page, refused=outcome, kept=kept(form))
    ref = normalise_reference(reference) or reference
    return RedirectResponse(f"/officer/tickets/{ref}?done={done}", status_code=303)


def _officer_choice(form: FormData, officer: WorkspaceOfficer) -> int | None:
    raw = field(form, "officer_id", 20).strip()
    if not raw:
        return None
    if raw == "me":
        return officer.id
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise FormProblem("Choose an officer from the list.")
    return int(raw)


@router.post("/tickets/{reference}/assign")
async def assign(reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm) -> Response:
    def change(session: Session, ticket: Ticket) -> None:
        trade = field(form, "trade", 40).strip() or None
        if trade is not None and trade not in {c.trade for c in ctx.policy.categories.values()}:
            raise FormProblem("Choose a trade from the list.")
        service.assign(session, ticket, actor=officer_actor(officer), officer_id=_officer_choice(form, officer),
                       trade=trade)

    return await _act(request, officer, ctx, reference, form, "assign", "assigned", change)


@router.post("/tickets/{reference}/status")
async def change_status(
    reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm
) -> Response:
    def change(session: Session, ticket: Ticket) -> None:
        try:
            target = Status(field(form, "status", 20))
        except ValueError:
            raise FormProblem("Choose the new status from the list.") from None
        note = optional_long_text(form, "note", "note")
        service.change_status(session, ctx.policy, ticket, target, actor=officer_actor(officer), note=note)

    return await _act(request, officer, ctx, reference, form, "status", "status", change)


@router.post("/tickets/{reference}/appointment")
async def book_appointment(
    reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm
) -> Response:
    def change(session: Session, ticket: Ticket) -> None:
        slot_id = field(form, "slot_id", 40).strip()
        if not slot_id:
            raise FormProblem("Choose a free slot.")
        service.book_appointment(session, ctx.policy, ctx.slots, ticket, actor=officer_actor(officer), slot_id=slot_id)

    return await _act(request, officer, ctx, reference, form, "appointment", "booked", change)


@router.post("/tickets/{reference}/notes")
async def add_note(reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm) -> Response:
    def change(session: Session, ticket: Ticket) -> None:
        service.add_note(session, ticket, actor=officer_actor(officer), text=long_text(form, "text", "note"))

    return await _act(request, officer, ctx, reference, form, "note", "note", change)


@router.post("/tickets/{reference}/messages")
async def message_resident(
    reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm
) -> Response:
    def change(session: Session, ticket: Ticket) -> None:
        text = long_text(form, "text", "message")
        service.message_resident(session, ticket, actor=officer_actor(officer), text=text)

    return await _act(request, officer, ctx, reference, form, "message", "message", change)


@router.post("/tickets/{reference}/investigated")
async def investigated(
    reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm
) -> Response:
    def change(session: Session, ticket: Ticket) -> None:
        service.record_investigation(session, ctx.policy, ticket, actor=officer_actor(officer), at=utcnow())

    return await _act(request, officer, ctx, reference, form, "investigated", "investigated", change)


@router.post("/tickets/{reference}/merge")
async def merge(reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm) -> Response:
    into = field(form, "into", 40).strip()

    def change(session: Session, ticket: Ticket) -> None:
        main_ref = normalise_reference(into)
        if main_ref is None:
            raise FormProblem("Give the reference of the ticket for the same job, like HR-7K3Q9M.")
        duplicate, main = merging.lock_pair(session, ticket.reference, main_ref)
        if main is None:
            raise FormProblem(f"There is no repair {main_ref}.")
        assert duplicate is not None  # locked above
        merging.merge(session, ctx.policy, duplicate, main, actor=officer_actor(officer),
                      officer_alert_chat=ctx.settings.officer_alert_chat)

    # Not locked up front: lock_pair locks both tickets in id order, so crossing merges cannot deadlock.
    return await _act(request, officer, ctx, reference, form, "merge", "merged", change, lock=False)
