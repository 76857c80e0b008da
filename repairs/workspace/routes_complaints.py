"""The complaints list (`/officer/complaints`) and a complaint's page, with its steps: acknowledge, answer,
escalate to stage 2. Any officer may take them.

Each step is a POST form with the session's CSRF token and the stage it was shown at, and goes through
repairs/complaints/handling.py on the locked complaint in one transaction. A step that works (or was
already taken: a double click) redirects back with `?done=<what>`, a fixed message chosen here; one that
the complaint's state does not allow shows the page again with the reason and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from repairs.complaints import handling
from repairs.complaints.listing import Show, complaint_list, find_complaint
from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.tickets.models import Complaint
from repairs.tickets.references import normalise_reference
from repairs.workspace.auth import CsrfForm, CurrentOfficer, WorkspaceOfficer
from repairs.workspace.complaint_view import ComplaintPage, Row, build, row, timescales
from repairs.workspace.forms import FormProblem, field, kept, long_text, officer_actor, optional_long_text
from repairs.workspace.templating import render

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]
LIST_LIMIT = 200

DONE = {
    "acknowledged": "Acknowledged. The resident has been told on their channel when to expect the answer.",
    "already_acknowledged": "This complaint had already been acknowledged: nothing more was sent.",
    "answered": "Answer sent to the resident on their channel.",
    "already_answered": "This complaint had already been answered: nothing more was sent.",
    "escalated": "Escalated to stage 2. The resident has been told; the stage 2 clocks have started.",
    "already_escalated": "This complaint had already been escalated to stage 2: nothing more was sent.",
}
SHOW_LABELS = {Show.OPEN: "Open", Show.ANSWERED: "Answered", Show.ALL: "All"}

def _stage(form: FormData) -> int:
    raw = field(form, "stage", 2).strip()
    if raw not in ("1", "2"):
        raise FormProblem("This form is out of date. Reload the page and try again.")
    return int(raw)


# -- the list -------------------------------------------------------------------------------------------


def _list(ctx: ServiceContext, show: Show) -> tuple[list[Row], int]:
    now = utcnow()
    with transaction(ctx.sessions) as session:
        listed, total = complaint_list(session, show, limit=LIST_LIMIT)
        return [row(item, now) for item in listed], total


@router.get("/complaints", response_class=HTMLResponse)
async def complaints_page(request: Request, officer: CurrentOfficer, ctx: Context) -> Response:
    raw = request.query_params.get("show", "").strip()[:20]
    problem = None
    try:
        show = Show(raw) if raw else Show.OPEN
    except ValueError:
        show, problem = Show.OPEN, f"There is no “{raw}” choice, so these are the open complaints."
    rows, total = await run_in_threadpool(_list, ctx, show)
    return await render(request, "complaints.html", officer, rows=rows, total=total, show=show.value,
                        problem=problem, choices=[(s.value, label) for s, label in SHOW_LABELS.items()],
                        timescales=timescales(ctx.policy))


# -- one complaint --------------------------------------------------------------------------------------


def _page(ctx: ServiceContext, reference: str) -> ComplaintPage | None:
    with transaction(ctx.sessions) as session:
        complaint = find_complaint(session, reference)
        return None if complaint is None else build(session, ctx.policy, complaint, utcnow())


async def _show(request: Request, officer: WorkspaceOfficer, page: ComplaintPage, *, flash: str | None = None,
                error: tuple[str, str] | None = None, status_code: int = 200,
                kept: dict[str, str] | None = None) -> HTMLResponse:
    return await render(request, "complaint.html", officer, status_code=status_code, c=page, flash=flash,
                        errors=dict([error]) if error else {}, kept=kept or {})


async def _missing(request: Request, officer: WorkspaceOfficer, reference: str) -> HTMLResponse:
    shown = normalise_reference(reference) or reference[:20]
    return await render(request, "complaint_missing.html", officer, status_code=404, reference=shown)


@router.get("/complaints/{reference}", response_class=HTMLResponse)
async def complaint_page(reference: str, request: Request, officer: CurrentOfficer, ctx: Context) -> Response:
    page = await run_in_threadpool(_page, ctx, reference)
    if page is None:
        return await _missing(request, officer, reference)
    return await _show(request, officer, page, flash=DONE.get(request.query_params.get("done", "")))


Step = Callable[[Session, Complaint], handling.Outcome]


def _apply(ctx: ServiceContext, reference: str, step: Step) -> handling.Outcome | tuple[int, str] | None:
    """Run `step` on the locked complaint in one transaction: its outcome, None when there is no such
    complaint, or (status, why not), in which case the transaction is rolled back and nothing is left."""
    try:
        with transaction(ctx.sessions) as session:
            complaint = find_complaint(session, reference, lock=True)
            if complaint is None:
                return None
            return step(session, complaint)
    except FormProblem as exc:
        return 422, str(exc)
    except handling.ComplaintActionRefused as exc:
        return 409, exc.message


async def _act(request: Request, officer: WorkspaceOfficer, ctx: ServiceContext, reference: str, form: FormData,
               form_name: str, step: Step) -> Response:
    outcome = await run_in_threadpool(_apply, ctx, reference, step)
    if outcome is None:
        return await _missing(request, officer, reference)
    if isinstance(outcome, tuple):
        status, message = outcome
        page = await run_in_threadpool(_page, ctx, reference)
        if page is None:
            return await _missing(request, officer, reference)
        return await _show(request, officer, page, error=(form_name, message), status_code=status, kept=kept(form))
    ref = normalise_reference(reference) or reference
    return RedirectResponse(f"/officer/complaints/{ref}?{urlencode({'done': outcome.done})}", status_code=303)


@router.post("/complaints/{reference}/acknowledge")
async def acknowledge(reference: str, request: Request, officer: CurrentOfficer, ctx: Context,
                      form: CsrfForm) -> Response:
    def step(session: Session, complaint: Complaint) -> handling.Outcome:
        return handling.acknowledge(session, ctx.policy, complaint, actor=officer_actor(officer), stage=_stage(form))

    return await _act(request, officer, ctx, reference, form, "acknowledge", step)


@router.post("/complaints/{reference}/answer")
async def answer(reference: str, request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm) -> Response:
    def step(session: Session, complaint: Complaint) -> handling.Outcome:
        text = long_text(form, "text", "answer")
        return handling.answer(session, complaint, actor=officer_actor(officer), stage=_stage(form), text=text)

    return await _act(request, officer, ctx, reference, form, "answer", step)


@router.post("/complaints/{reference}/escalate")
async def escalate(reference: str, request: Request, officer: CurrentOfficer, ctx: Context,
                   form: CsrfForm) -> Response:
    def step(session: Session, complaint: Complaint) -> handling.Outcome:
        reason = optional_long_text(form, "reason", "reason")
        return handling.escalate(session, ctx.policy, complaint, actor=officer_actor(officer), stage=_stage(form),
                                 reason=reason)

    return await _act(request, officer, ctx, reference, form, "escalate", step)
