"""The officer workspace: its router (each page module adds one include line here), static files, and
how sign-in redirects and refusals are shown as pages rather than JSON problems."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from repairs.workspace import (
    routes_accounts,
    routes_alerts,
    routes_announcements,
    routes_auth,
    routes_complaints,
    routes_listening,
    routes_password,
    routes_queue,
    routes_reports,
    routes_residents,
    routes_ticket,
)
from repairs.workspace.auth import (
    COOKIE_PATH,
    LOGIN_PATH,
    SESSION_COOKIE,
    CurrentOfficer,
    LoginRequired,
    WorkspaceDenied,
    lookup_session,
)
from repairs.workspace.headers import WorkspaceHeaders
from repairs.workspace.templating import STATIC, render

router = APIRouter(prefix="/officer", include_in_schema=False)
router.include_router(routes_auth.router)
router.include_router(routes_queue.router)
router.include_router(routes_ticket.router)
router.include_router(routes_complaints.router)
router.include_router(routes_accounts.router)
router.include_router(routes_password.router)
router.include_router(routes_reports.router)
router.include_router(routes_listening.router)
router.include_router(routes_announcements.router)
router.include_router(routes_alerts.router)
router.include_router(routes_residents.router)


@router.get("")
async def home(_officer: CurrentOfficer) -> Response:
    return RedirectResponse("/officer/queue", status_code=303)


def install(app: FastAPI) -> None:
    """Add the workspace to the app: static files first (so no page route can shadow them), then pages."""
    app.mount("/officer/static", StaticFiles(directory=STATIC), name="officer-static")
    app.include_router(router)
    app.add_middleware(WorkspaceHeaders)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        query = {"next": exc.next_path}
        if exc.idle:
            # The sign-in page says why, in words (the values are fixed here, never taken from the request).
            query["idle"] = "unsaved" if exc.unsaved else "1"
        response = RedirectResponse(f"{LOGIN_PATH}?{urlencode(query)}", status_code=303)
        if exc.idle:
            response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
        return response

    @app.exception_handler(WorkspaceDenied)
    async def _denied(request: Request, exc: WorkspaceDenied) -> HTMLResponse:
        officer = None
        if exc.status == 403:
            # Show the navigation on a refusal when the officer is signed in; never fail the refusal itself.
            try:
                officer = (await lookup_session(request, request.app.state.context, touch=False)).officer
            except WorkspaceDenied:
                officer = None
        return await render(request, "denied.html", officer, status_code=exc.status, title=exc.title,
                            message=exc.message)
