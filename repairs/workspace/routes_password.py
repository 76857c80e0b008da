"""An officer changes their own password. The current one is asked for first (a wrong one counts towards
the lock-out, as at sign-in); afterwards every other session of theirs ends and this browser gets a new one."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from repairs.auth import accounts
from repairs.auth.models import Officer
from repairs.auth.officers import AccountLocked, SessionKind, issue_session
from repairs.auth.passwords import MIN_PASSWORD_LENGTH
from repairs.context import ServiceContext, get_context
from repairs.database import transaction
from repairs.workspace.auth import COOKIE_PATH, SESSION_COOKIE, CsrfForm, CurrentOfficer, WorkspaceOfficer
from repairs.workspace.formatting import local_time
from repairs.workspace.templating import render

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]


async def _page(request: Request, officer: WorkspaceOfficer, *, status_code: int = 200,
                error: str | None = None) -> Response:
    done = request.query_params.get("done") == "1"
    return await render(
        request, "password.html", officer, status_code=status_code, error=error, done=done,
        min_password=MIN_PASSWORD_LENGTH,
    )


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request, officer: CurrentOfficer) -> Response:
    return await _page(request, officer)


def _change(ctx: ServiceContext, officer_id: int, current: str, new: str) -> str | None:
    """The new session token, or None when the current password was wrong (the count is committed)."""
    with transaction(ctx.sessions) as session:
        if not accounts.change_own_password(session, officer_id, current, new):
            return None
        officer = session.get(Officer, officer_id)
        assert officer is not None
        ttl = timedelta(hours=ctx.settings.workspace_session_hours)
        return issue_session(session, officer, ttl=ttl, kind=SessionKind.WORKSPACE).token


def _field(form: CsrfForm, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) and len(value) <= 1024 and "\x00" not in value else ""


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request, officer: CurrentOfficer, ctx: Context, form: CsrfForm) -> Response:
    current, new, confirm = _field(form, "current"), _field(form, "new"), _field(form, "confirm")
    if len(new) < MIN_PASSWORD_LENGTH:
        return await _page(request, officer, status_code=422,
                     error=f"The new password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if new != confirm:
        return await _page(request, officer, status_code=422, error="The two new passwords are not the same.")
    try:
        token = await run_in_threadpool(_change, ctx, officer.id, current, new)
    except AccountLocked as exc:
        return await _page(request, officer, status_code=429, error=(
            f"Too many wrong passwords: your account is locked until {local_time(exc.until)}. "
            "A supervisor can unlock it sooner."
        ))
    if token is None:
        return await _page(request, officer, status_code=422, error="That is not your current password.")
    response = RedirectResponse("/officer/password?done=1", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(ctx.settings.workspace_session_hours * 3600), path=COOKIE_PATH,
        httponly=True, samesite="lax", secure=ctx.settings.cookies_secure,
    )
    return response
