"""The announcements page: post planned works or an outage to a block or estate, see first how many
households it will reach, and read what was posted before.

Posting goes through the same code as the JSON API (repairs/announcements/routes.post_announcement), under
an idempotency key the form carries from when it was shown: a double click, or the browser sending the form
again, posts once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from repairs.announcements import service
from repairs.announcements.models import Announcement, AnnouncementKind, AreaKind
from repairs.announcements.routes import AnnouncementCreate, local_today, post_announcement
from repairs.context import ServiceContext, get_context
from repairs.database import transaction
from repairs.idempotency.service import MAX_KEY_LENGTH
from repairs.problems import Problem
from repairs.workspace.auth import CsrfForm, CurrentOfficer, WorkspaceOfficer
from repairs.workspace.formatting import local_time
from repairs.workspace.templating import render

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]
HISTORY = 50
KINDS = [(k.value, service.KIND_TITLES[k]) for k in AnnouncementKind]
ALREADY_POSTED = ("This form was posted already, with other words (see the list below). To post these words "
                  "as well, send the form again.")
FIELD_NAMES = {"kind": "What it is", "area": "Where", "area_kind": "Where", "text": "The message"}


@dataclass(frozen=True)
class PastAnnouncement:
    id: int
    kind: str
    area: str
    area_kind: str
    text: str
    households: int
    recipients: int
    officer: str
    at: str


def _history(ctx: ServiceContext) -> tuple[list[PastAnnouncement], dict[AreaKind, list[str]]]:
    with transaction(ctx.sessions) as session:
        rows = service.history(session, limit=HISTORY)
        areas = service.areas(session)
    return [
        PastAnnouncement(
            id=a.id, kind=service.KIND_TITLES[a.kind], area=a.area, area_kind=a.area_kind.value, text=a.text,
            households=a.households, recipients=a.recipients, officer=name or "A former officer",
            at=local_time(a.created_at),
        )
        for a, name in rows
    ], areas


async def _page(
    request: Request, officer: WorkspaceOfficer, ctx: ServiceContext, *, values: dict[str, str] | None = None,
    errors: list[str] | None = None, preview: service.Reach | None = None, message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    past, areas = await run_in_threadpool(_history, ctx)
    form = {"kind": AnnouncementKind.PLANNED_WORKS.value, "area": "", "text": "", "key": uuid.uuid4().hex}
    form.update(values or {})
    return await render(
        request, "announcements.html", officer, status_code=status_code, past=past, kinds=KINDS,
        blocks=areas[AreaKind.BLOCK], estates=areas[AreaKind.ESTATE], values=form, errors=errors or [],
        preview=preview, message=message,
    )


def _posted(ctx: ServiceContext, announcement_id: int) -> str | None:
    with transaction(ctx.sessions) as session:
        found = session.get(Announcement, announcement_id)
        if found is None:
            return None
        homes = "household" if found.households == 1 else "households"
        return (f"{service.KIND_TITLES[found.kind]} at {found.area} posted: on its way to {found.households} "
                f"{homes} ({found.recipients} residents).")


@router.get("/announcements", response_class=HTMLResponse)
async def announcements_page(request: Request, officer: CurrentOfficer, ctx: Context) -> Response:
    posted = request.query_params.get("posted", "")
    message = await run_in_threadpool(_posted, ctx, int(posted)) if posted.isdigit() and len(posted) < 10 else None
    return await _page(request, officer, ctx, message=message)


def _read(form: FormData) -> tuple[dict[str, str], AnnouncementCreate | None, list[str]]:
    values = {name: str(form.get(name) or "")[:2000] for name in ("kind", "area", "text", "key")}
    area_kind, _, area = values["area"].partition(":")
    try:
        body = AnnouncementCreate(kind=values["kind"], area_kind=area_kind, area=area, text=values["text"])
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            label = FIELD_NAMES.get(field, field)
            if field == "text":
                errors.append("Write the message, up to 1,000 characters.")
            elif field in ("area", "area_kind"):
                errors.append("Choose the block or estate it is for.")
            else:
                errors.append(f"{label}: choose one of the options.")
        return values, None, sorted(set(errors))
    return values, body, []


def _reach(ctx: ServiceContext, body: AnnouncementCreate) -> service.Reach:
    with transaction(ctx.sessions) as session:
        return service.reach(session, body.area_kind, body.area, today=local_today(ctx))


@router.post("/announcements")
async def post_page(request: Request, officer: CurrentOfficer, form: CsrfForm, ctx: Context) -> Response:
    values, body, errors = _read(form)
    key = values["key"].strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        errors.append("This form is out of date. Reload the page and try again.")
    if body is None or errors:
        return await _page(request, officer, ctx, values=values, errors=errors, status_code=400)
    reach = await run_in_threadpool(_reach, ctx, body)
    if reach.homes == 0:
        return await _page(request, officer, ctx, values=values, status_code=400,
                           errors=[f"No home we know of is in {body.area}."])
    if form.get("action") != "post":
        return await _page(request, officer, ctx, values=values, preview=reach)
    try:
        _status, posted, _replayed = await run_in_threadpool(
            lambda: post_announcement(ctx, officer_id=officer.id, officer_name=officer.name, body=body, key=key)
        )
    except Problem as exc:  # the same key with different words: a stale form sent again after an edit
        return await _page(request, officer, ctx, values={**values, "key": uuid.uuid4().hex}, status_code=409,
                           errors=[ALREADY_POSTED if exc.code == "idempotency_key_reused" else exc.detail or exc.title])
    return RedirectResponse(f"/officer/announcements?posted={posted['id']}", status_code=303)
