"""Signing in and out of the workspace.

The sign-in form has its own CSRF defence before any session exists: a random value in a short-lived
cookie, and its HMAC in the form. A cross-site page can post the form but can neither read nor set the
cookie, so it cannot sign a browser in to an account of its choosing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from repairs.auth.address_throttle import TooManyFromAddress, begin_attempt, succeeded, throttle_for
from repairs.auth.officers import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    AccountLocked,
    SessionKind,
    authenticate,
    issue_session,
    revoke_session,
)
from repairs.auth.secrets import new_token, same_secret
from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.workspace.auth import (
    COOKIE_PATH,
    LOGIN_PATH,
    SESSION_COOKIE,
    CsrfForm,
    WorkspaceOfficer,
    optional_officer,
    session_token,
    signed,
    workspace_secret,
)
from repairs.workspace.formatting import local_time, span
from repairs.workspace.templating import render

log = logging.getLogger(__name__)

router = APIRouter()

LOGIN_COOKIE = "officer_login"
LOGIN_COOKIE_SECONDS = 3600
HOME = "/officer/queue"
Context = Annotated[ServiceContext, Depends(get_context)]
# Why the sign-in page is shown after a session went idle (?idle=...; see pages.py).
IDLE_NOTICES = {
    "1": "You were signed out because the workspace was not used for {minutes} minutes. "
         "Sign in again to carry on where you were.",
    "unsaved": "You were signed out because the workspace was not used for {minutes} minutes, so what you "
               "last sent was not saved. Sign in again, then repeat it.",
}
MaybeOfficer = Annotated[WorkspaceOfficer | None, Depends(optional_officer)]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a path inside the workspace, never another site."""
    if not value or len(value) > 2000 or "\\" in value or any(ord(c) < 32 for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME
    if not (parts.path == "/officer" or parts.path.startswith("/officer/")):
        return HOME
    if parts.path.startswith((LOGIN_PATH, "/officer/logout", "/officer/static/")) or "/../" in parts.path:
        return HOME
    return value


async def _login_page(
    request: Request,
    ctx: ServiceContext,
    *,
    next_path: str,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    email: str = "",
) -> Response:
    """The form with a fresh pre-session CSRF pair (the cookie's value, the form's HMAC of it)."""
    nonce = new_token()
    response = await render(
        request,
        "login.html",
        None,
        status_code=status_code,
        csrf_token=signed(workspace_secret(ctx), "login", nonce),
        next_path=next_path,
        error=error,
        notice=notice,
        email=email,
        max_failed=MAX_FAILED_LOGINS,
        lockout_minutes=int(LOCKOUT.total_seconds() // 60),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_COOKIE_SECONDS,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookies_secure,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, ctx: Context, officer: MaybeOfficer, next: str | None = None) -> Response:
    target = safe_next(next)
    if officer is not None:
        return RedirectResponse(target, status_code=303)
    notice = None
    if request.query_params.get("signed_out") == "1":
        notice = "You have signed out."
    elif (idle := request.query_params.get("idle")) in IDLE_NOTICES:
        notice = IDLE_NOTICES[idle].format(minutes=ctx.settings.workspace_idle_minutes)
    return await _login_page(request, ctx, next_path=target, notice=notice)


def _sign_in(
    ctx: ServiceContext, email: str, password: str, old_token: str | None, client: str | None
) -> tuple[int, str] | None:
    with transaction(ctx.sessions) as session:
        # Counted against the client's address before the password is checked (see address_throttle):
        # raises TooManyFromAddress when that address has failed too often lately, whichever accounts.
        attempt = begin_attempt(session, client, throttle_for(ctx.settings))
    with transaction(ctx.sessions) as session:
        # Committed even when sign-in fails, so authenticate()'s failed-login count is kept.
        officer = authenticate(session, email, password)
        if officer is None:
            return None
        succeeded(session, attempt)
        if old_token:
            # A new token on every sign-in: a session id planted before sign-in is worthless after it.
            revoke_session(session, old_token, SessionKind.WORKSPACE)
        issued = issue_session(
            session, officer, ttl=timedelta(hours=ctx.settings.workspace_session_hours), kind=SessionKind.WORKSPACE
        )
        return officer.id, issued.token


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Context) -> Response:
    form = await request.form(max_fields=10)
    next_path = safe_next(str(form.get("next") or ""))
    email = str(form.get("email") or "").strip()[:254]
    password = str(form.get("password") or "")[:1024]
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    given = str(form.get("csrf_token") or "")
    secret = workspace_secret(ctx)
    if not nonce or len(nonce) > 256 or not same_secret(given, signed(secret, "login", nonce)):
        return await _login_page(
            request,
            ctx,
            next_path=next_path,
            status_code=403,
            error="The sign-in form had expired. Please sign in again.",
            email=email,
        )
    if not email or not password or "\x00" in email or "\x00" in password:
        return await _login_page(
            request, ctx, next_path=next_path, status_code=422, error="Enter your e-mail address and password.",
            email=email,
        )
    try:
        # The client's address as uvicorn gives it: X-Forwarded-For only from a trusted proxy (FORWARDED_ALLOW_IPS).
        client = request.client.host if request.client else None
        result = await run_in_threadpool(_sign_in, ctx, email, password, session_token(request), client)
    except (TooManyFromAddress, AccountLocked) as exc:
        wait = exc.until - utcnow()
        when = f"{local_time(exc.until, with_day=False)} (in about {span(wait)})"
        if isinstance(exc, TooManyFromAddress):
            log.info("workspace sign-in refused: too many failures from the client's address")
            error = ("Too many sign-ins from your network have failed recently, so signing in from here is paused. "
                     f"Try again after {when}. If you did not make these attempts, tell your IT team.")
        else:
            log.info("workspace sign-in refused: account locked")
            error = (f"Too many failed sign-ins on this account. Try again after {when}, or ask a supervisor to "
                     "unlock it.")
        response = await _login_page(request, ctx, next_path=next_path, status_code=429, error=error, email=email)
        response.headers["Retry-After"] = str(max(int(wait.total_seconds()), 1))
        return response
    if result is None:
        log.info("workspace sign-in failed")
        return await _login_page(
            request, ctx, next_path=next_path, status_code=401, error="Wrong e-mail address or password.", email=email
        )
    officer_id, token = result
    log.info("workspace sign-in", extra={"officer_id": officer_id})
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ctx.settings.workspace_session_hours * 3600),
        path=COOKIE_PATH,
        httponly=True,
        # Lax, not Strict: a link to a ticket from an e-mail or chat opens signed in. Every change is a
        # POST, which Lax never sends cross-site, and each form carries the CSRF token too.
        samesite="lax",
        secure=ctx.settings.cookies_secure,
    )
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return response


def _sign_out(ctx: ServiceContext, token: str) -> None:
    with transaction(ctx.sessions) as session:
        revoke_session(session, token, SessionKind.WORKSPACE)


@router.post("/logout")
async def logout(request: Request, ctx: Context, _form: CsrfForm) -> Response:
    token = session_token(request)
    if token:
        await run_in_threadpool(_sign_out, ctx, token)
    response = RedirectResponse(f"{LOGIN_PATH}?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
    return response
