"""Who is using the officer workspace: the cookie session, its CSRF token, and the role checks pages use.

The session cookie holds a random token; the database keeps only its hash (an OfficerSession of the
workspace kind, so it cannot be replayed as an API bearer token or the other way round). The CSRF token
is an HMAC of the session token under REPAIRS_SECRET_KEY: nothing to store, and every replica agrees.

A session ends at its absolute lifetime (REPAIRS_WORKSPACE_SESSION_HOURS) or after
REPAIRS_WORKSPACE_IDLE_MINUTES without the officer opening a page or sending a form, whichever is first.
Background polls (the emergency banner's) use `BackgroundOfficer`, which neither counts as activity nor
ends the session, so a page left open does not keep itself signed in and the officer's next click is the
one told why they were signed out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from repairs.auth.models import Role
from repairs.auth.officers import workspace_officer
from repairs.auth.secrets import same_secret
from repairs.context import ServiceContext, get_context
from repairs.database import transaction

SESSION_COOKIE = "officer_session"
COOKIE_PATH = "/officer"
LOGIN_PATH = "/officer/login"
MAX_TOKEN_LENGTH = 256
MAX_FORM_FIELDS = 200


class LoginRequired(Exception):
    """No valid session on a GET (or an idle one on a POST): the handler redirects to the sign-in page,
    coming back to `next_path`. `idle`: the session ended for want of use, and the page says so;
    `unsaved`: what was posted was not acted on."""

    def __init__(self, next_path: str, *, idle: bool = False, unsaved: bool = False) -> None:
        super().__init__("login required")
        self.next_path = next_path
        self.idle = idle
        self.unsaved = unsaved


class WorkspaceDenied(Exception):
    """A refusal shown as a plain page (401 signed out, 403 not allowed or a bad form, 503 not set up)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


@dataclass(frozen=True)
class WorkspaceOfficer:
    id: int
    name: str
    email: str
    role: Role
    csrf_token: str
    # May read what residents said (the listening page): a permission of its own, not a role.
    insight: bool = False
    # May export and erase a resident's personal data (the Residents page): likewise its own permission.
    data_protection: bool = False

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR


def workspace_secret(ctx: ServiceContext) -> bytes:
    if ctx.settings.secret_key is None or not ctx.settings.secret_key.get_secret_value():
        raise WorkspaceDenied(
            503, "Workspace not set up", "The service has no REPAIRS_SECRET_KEY, so officers cannot sign in."
        )
    return ctx.settings.secret_key.get_secret_value().encode()


def signed(secret: bytes, purpose: str, value: str) -> str:
    """An HMAC of `value` for one purpose, so a token made for one form is useless for another."""
    return hmac.new(secret, f"{purpose}:{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def csrf_for_session(secret: bytes, session_token: str) -> str:
    return signed(secret, "csrf", session_token)


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


@dataclass(frozen=True)
class SessionState:
    officer: WorkspaceOfficer | None
    idle: bool = False  # there was a session, and it ended just now for want of use


def _lookup(ctx: ServiceContext, token: str, touch: bool
            ) -> tuple[tuple[int, str, str, Role, bool, bool] | None, bool]:
    idle_after = timedelta(minutes=ctx.settings.workspace_idle_minutes)
    with transaction(ctx.sessions) as session:
        found = workspace_officer(session, token, idle_after=idle_after, touch=touch)
        if found.officer is None:
            return None, found.idle
        officer = found.officer
        return (officer.id, officer.name, officer.email, officer.role, officer.insight,
                officer.data_protection), False


async def lookup_session(request: Request, ctx: ServiceContext, *, touch: bool) -> SessionState:
    secret = workspace_secret(ctx)
    token = session_token(request)
    if token is None:
        return SessionState(None)
    found, idle = await run_in_threadpool(_lookup, ctx, token, touch)
    if found is None:
        return SessionState(None, idle=idle)
    officer_id, name, email, role, insight, data_protection = found
    return SessionState(WorkspaceOfficer(
        id=officer_id, name=name, email=email, role=role, csrf_token=csrf_for_session(secret, token),
        insight=insight, data_protection=data_protection,
    ))


async def workspace_session(request: Request, ctx: Annotated[ServiceContext, Depends(get_context)]) -> SessionState:
    """The session of a request the officer made (a page, a form): it counts as activity."""
    return await lookup_session(request, ctx, touch=True)


async def background_session(request: Request, ctx: Annotated[ServiceContext, Depends(get_context)]) -> SessionState:
    """The session of a page's own background request: checked, but not activity."""
    return await lookup_session(request, ctx, touch=False)


async def optional_officer(state: Annotated[SessionState, Depends(workspace_session)]) -> WorkspaceOfficer | None:
    """The signed-in officer, or None (the sign-in page uses this to skip the form)."""
    return state.officer


def _here(request: Request) -> str:
    path = request.url.path
    return path + "?" + request.url.query if request.url.query else path


def _came_from(request: Request) -> str:
    """The page a form was posted from, as a path on this site (the sign-in page keeps it only if it is
    under /officer), or the queue."""
    referer = request.headers.get("referer", "")[:2000]
    parts = urlsplit(referer)
    if not referer or parts.netloc != request.url.netloc:
        return "/officer/queue"
    return parts.path + ("?" + parts.query if parts.query else "")


def _signed_in(request: Request, state: SessionState) -> WorkspaceOfficer:
    if state.officer is not None:
        return state.officer
    if request.method in ("GET", "HEAD"):
        raise LoginRequired(_here(request), idle=state.idle)
    if state.idle:
        # A form sent after the session went idle: back to the page it came from once signed in again.
        raise LoginRequired(_came_from(request), idle=True, unsaved=True)
    raise WorkspaceDenied(401, "Signed out", "Your session has ended. Sign in again, then repeat what you were doing.")


async def current_officer(
    request: Request, state: Annotated[SessionState, Depends(workspace_session)]
) -> WorkspaceOfficer:
    return _signed_in(request, state)


async def background_officer(
    request: Request, state: Annotated[SessionState, Depends(background_session)]
) -> WorkspaceOfficer:
    return _signed_in(request, state)


CurrentOfficer = Annotated[WorkspaceOfficer, Depends(current_officer)]
BackgroundOfficer = Annotated[WorkspaceOfficer, Depends(background_officer)]


async def require_supervisor(officer: CurrentOfficer) -> WorkspaceOfficer:
    if not officer.is_supervisor:
        raise WorkspaceDenied(403, "Supervisors only", "This page is for supervisors. Ask a supervisor if you need it.")
    return officer


SupervisorOfficer = Annotated[WorkspaceOfficer, Depends(require_supervisor)]


async def require_insight(officer: CurrentOfficer) -> WorkspaceOfficer:
    if not officer.insight:
        raise WorkspaceDenied(403, "Insight permission needed",
                              "What residents say is shown only to officers with the insight permission. "
                              "Ask a supervisor if you need it.")
    return officer


InsightOfficer = Annotated[WorkspaceOfficer, Depends(require_insight)]


async def require_data_protection(officer: CurrentOfficer) -> WorkspaceOfficer:
    if not officer.data_protection:
        raise WorkspaceDenied(403, "Data protection permission needed",
                              "Exporting or erasing a resident's personal data is only for officers with the data "
                              "protection permission. Ask a supervisor if you need it.")
    return officer


DataProtectionOfficer = Annotated[WorkspaceOfficer, Depends(require_data_protection)]

FORM_EXPIRED = (
    "This form has expired or did not come from the workspace. Nothing was changed. "
    "Go back, reload the page and try again."
)


async def form_with_csrf(request: Request, officer: CurrentOfficer) -> FormData:
    """The posted form, once its csrf_token field is shown to belong to this officer's session."""
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    given = form.get("csrf_token")
    if not isinstance(given, str) or not same_secret(given, officer.csrf_token):
        raise WorkspaceDenied(403, "Form refused", FORM_EXPIRED)
    return form


CsrfForm = Annotated[FormData, Depends(form_with_csrf)]
