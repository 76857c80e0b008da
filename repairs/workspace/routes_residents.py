"""Residents' personal data: find a resident by tenancy reference, export everything held about them (a
subject access request) and erase them at their request. Both are recorded (repairs/personal_data/models.py,
DataProtectionEvent); the work itself is in repairs/personal_data/.

Only officers with the data protection permission (officers.data_protection, given on the accounts page):
an export hands over everything about a person and an erasure cannot be undone, and a council gives that to
whoever handles its data protection requests, who need not be a supervisor (nor every supervisor).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, or_, select
from starlette.concurrency import run_in_threadpool

from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.listening.store import chat_hash_key
from repairs.personal_data.erasure import AlreadyErased, erase_resident
from repairs.personal_data.models import DataProtectionEvent
from repairs.personal_data.retention_run import recent_runs
from repairs.personal_data.subject_access import Export, ResidentNotFound, build_export
from repairs.residents.models import ChannelIdentity, Resident, Tenancy
from repairs.tickets.models import Complaint, LinkedResident, Rating, Ticket
from repairs.workspace.auth import CsrfForm, DataProtectionOfficer, WorkspaceDenied
from repairs.workspace.templating import render

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]

DONE = {"erased": "Erased. The resident will be told on each chat they had linked what was kept and why."}


def _not_found() -> WorkspaceDenied:
    return WorkspaceDenied(404, "No such resident", "There is no resident with that number.")


def _find(ctx: ServiceContext, reference: str) -> list[dict[str, Any]]:
    wanted = reference.strip().upper()
    with transaction(ctx.sessions) as session:
        rows = session.execute(
            select(Resident.id, Resident.full_name, Resident.erased_at, Tenancy.reference)
            .join(Tenancy, Tenancy.id == Resident.tenancy_id)
            .where(Tenancy.reference == wanted).order_by(Resident.id)
        ).all()
    return [{"id": rid, "name": name, "erased": erased is not None, "reference": ref}
            for rid, name, erased, ref in rows]


def _summary(ctx: ServiceContext, resident_id: int) -> dict[str, Any]:
    with transaction(ctx.sessions) as session:
        resident = session.get(Resident, resident_id)
        if resident is None:
            raise _not_found()
        linked = select(LinkedResident.ticket_id).where(LinkedResident.resident_id == resident_id)
        history = session.execute(
            select(DataProtectionEvent.at, DataProtectionEvent.kind, DataProtectionEvent.officer_id)
            .where(DataProtectionEvent.resident_id == resident_id).order_by(DataProtectionEvent.id.desc())
        ).all()
        return {
            "resident_id": resident.id,
            "person": resident.full_name,
            "reference": resident.tenancy.reference,
            "erased_at": resident.erased_at,
            "tickets": session.scalar(select(func.count()).select_from(Ticket).where(
                or_(Ticket.resident_id == resident_id, Ticket.id.in_(linked)))) or 0,
            "open_tickets": session.scalar(select(func.count()).select_from(Ticket).where(
                Ticket.resident_id == resident_id, Ticket.is_open.is_(True))) or 0,
            "complaints": session.scalar(select(func.count()).select_from(Complaint)
                                         .where(Complaint.resident_id == resident_id)) or 0,
            "ratings": session.scalar(select(func.count()).select_from(Rating)
                                      .where(Rating.resident_id == resident_id)) or 0,
            "chats": session.scalar(select(func.count()).select_from(ChannelIdentity)
                                    .where(ChannelIdentity.resident_id == resident_id)) or 0,
            "history": [{"at": at, "kind": kind, "officer_id": officer_id} for at, kind, officer_id in history],
            "conversations_reachable": ctx.tracker is not None,
        }


def _runs(ctx: ServiceContext) -> list[dict[str, Any]]:
    return [{"id": run.id, "started_at": run.started_at, "trigger": run.trigger, "status": run.status,
             "counts": {name: count for name, count in run.counts.items() if count}}
            for run in recent_runs(ctx, limit=5)]


@router.get("/residents", response_class=HTMLResponse)
async def residents_page(request: Request, officer: DataProtectionOfficer, ctx: Context,
                        reference: str = "") -> Response:
    found = await run_in_threadpool(_find, ctx, reference[:20]) if reference.strip() else []
    runs = await run_in_threadpool(_runs, ctx)
    return await render(request, "residents.html", officer, reference=reference[:20], found=found,
                        searched=bool(reference.strip()), runs=runs)


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
async def resident_page(request: Request, resident_id: int, officer: DataProtectionOfficer, ctx: Context,
                        done: str = "") -> Response:
    summary = await run_in_threadpool(_summary, ctx, resident_id)
    return await render(request, "resident_data.html", officer, done=DONE.get(done), error=None, **summary)


def _export(ctx: ServiceContext, resident_id: int, officer_id: int) -> Export:
    with transaction(ctx.sessions) as session:
        return build_export(session, ctx.photos, ctx.tracker, resident_id, officer_id=officer_id, now=utcnow())


@router.post("/residents/{resident_id}/export")
async def export(resident_id: int, _form: CsrfForm, officer: DataProtectionOfficer, ctx: Context) -> Response:
    try:
        archive = await run_in_threadpool(_export, ctx, resident_id, officer.id)
    except ResidentNotFound:
        raise _not_found() from None
    # Streamed from the archive's temporary file in pieces (the iterator runs in the thread pool and closes
    # the file when done, or when the download is abandoned and the response is dropped).
    return StreamingResponse(archive.chunks(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{archive.filename}"',
        "Content-Length": str(archive.size),
        "Cache-Control": "no-store",  # a whole person's data: never left in a shared cache
    })


def _erase(ctx: ServiceContext, resident_id: int, officer_id: int) -> None:
    with transaction(ctx.sessions) as session:
        erase_resident(session, ctx.photos, ctx.tracker, resident_id, schedule=ctx.retention, officer_id=officer_id,
                       phone=ctx.settings.repairs_phone, now=utcnow(),
                       listening_secret=chat_hash_key(ctx.settings))


@router.post("/residents/{resident_id}/erase")
async def erase(request: Request, resident_id: int, form: CsrfForm, officer: DataProtectionOfficer,
                ctx: Context) -> Response:
    summary = await run_in_threadpool(_summary, ctx, resident_id)
    typed = str(form.get("confirm") or "").strip().upper()
    if typed != summary["reference"]:
        return await render(request, "resident_data.html", officer, status_code=422, done=None,
                            error="Nothing was erased: type the tenancy reference exactly to confirm.", **summary)
    try:
        await run_in_threadpool(_erase, ctx, resident_id, officer.id)
    except AlreadyErased:
        return await render(request, "resident_data.html", officer, status_code=409, done=None,
                            error="This resident was already erased.", **summary)
    return RedirectResponse(f"/officer/residents/{resident_id}?done=erased", status_code=303)
