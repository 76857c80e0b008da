"""Who is using the officer workspace: the cookie session, its CSRF token, and the role checks pages use.

The session cookie holds a random token; the database keeps only its hash (an OfficerSession of the
workspace kind, so it cannot be replayed as an API bearer token or the other way round). The CSRF token
is an HMAC of the session token under REPAIRS_SECRET_KEY: nothing to store, and every replica agrees.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from repairs.auth.models import Role
from repairs.auth.officers import SessionKind, officer_for_token
from repairs.auth.secrets import same_secret
from repairs.context import ServiceContext, get_context
from repairs.database import transaction

SESSION_COOKIE = "officer_session"
COOKIE_PATH = "/officer"
LOGIN_PATH = "/officer/login"
MAX_TOKEN_LENGTH = 256
MAX_FORM_FIELDS = 200


class LoginRequired(Exception):
    """No valid session on a GET: the handler redirects to the sign-in page, coming back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


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


def _lookup(ctx: ServiceContext, token: str) -> tuple[int, str, str, Role] | None:
    with transaction(ctx.sessions) as session:
        officer = officer_for_token(session, token, SessionKind.WORKSPACE)
        if officer is None:
            return None
        return officer.id, officer.name, officer.email, officer.role


async def optional_officer(
    request: Request, ctx: Annotated[ServiceContext, Depends(get_context)]
) -> WorkspaceOfficer | None:
    """The signed-in officer, or None (the sign-in page uses this to skip the form)."""
    secret = workspace_secret(ctx)
    token = session_token(request)
    if token is None:
        return None
    found = await run_in_threadpool(_lookup, ctx, token)
    if found is None:
        return None
    officer_id, name, email, role = found
    return WorkspaceOfficer(
        id=officer_id, name=name, email=email, role=role, csrf_token=csrf_for_session(secret, token)
    )


async def current_officer(
    request: Request, officer: Annotated[WorkspaceOfficer | None, Depends(optional_officer)]
) -> WorkspaceOfficer:
    if officer is not None:
        return officer
    if request.method in ("GET", "HEAD"):
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise LoginRequired(path)
    raise WorkspaceDenied(401, "Signed out", "Your session has ended. Sign in again, then repeat what you were doing.")


CurrentOfficer = Annotated[WorkspaceOfficer, Depends(current_officer)]


async def require_supervisor(officer: CurrentOfficer) -> WorkspaceOfficer:
    if not officer.is_supervisor:
        raise WorkspaceDenied(403, "Supervisors only", "This page is for supervisors. Ask a supervisor if you need it.")
    return officer


SupervisorOfficer = Annotated[WorkspaceOfficer, Depends(require_supervisor)]

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
