"""Officer accounts, for supervisors: list, add, deactivate or reactivate, reset a password, unlock, and
change a role. The rules and the record of each change are in repairs/auth/accounts.py."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from repairs.auth import accounts
from repairs.auth.models import AccountAction, Officer, Role
from repairs.auth.officers import OfficerExists
from repairs.auth.passwords import MIN_PASSWORD_LENGTH
from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.workspace.auth import CsrfForm, SupervisorOfficer, WorkspaceOfficer
from repairs.workspace.templating import render

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")

# What the page says after each change; the query string carries only the code and an id.
DONE = {
    "created": "Account created. Give the officer their password in person or by phone, not by e-mail.",
    "deactivated": "Account deactivated and signed out everywhere.",
    "reactivated": "Account reactivated.",
    "password_reset": "Password reset. The officer is signed out everywhere and any lock is lifted.",
    "unlocked": "Account unlocked.",
    "role_changed": "Role changed.",
    "insight_changed": "Insight permission changed.",
    "data_protection_changed": "Data protection permission changed.",
}
ACTION_TEXT = {
    AccountAction.CREATED: "created the account of",
    AccountAction.DEACTIVATED: "deactivated",
    AccountAction.REACTIVATED: "reactivated",
    AccountAction.PASSWORD_RESET: "reset the password of",
    AccountAction.PASSWORD_CHANGED: "changed the password of",
    AccountAction.UNLOCKED: "unlocked",
    AccountAction.ROLE_CHANGED: "changed the role of",
    AccountAction.TELEGRAM_LINKED: "linked a Telegram account to",
    AccountAction.TELEGRAM_UNLINKED: "unlinked the Telegram account of",
    AccountAction.INSIGHT_GRANTED: "gave the insight permission to",
    AccountAction.INSIGHT_REVOKED: "took the insight permission from",
    AccountAction.DATA_PROTECTION_GRANTED: "gave the data protection permission to",
    AccountAction.DATA_PROTECTION_REVOKED: "took the data protection permission from",
}


def _page_data(ctx: ServiceContext) -> dict[str, Any]:
    now = utcnow()
    with transaction(ctx.sessions) as session:
        officers = session.scalars(select(Officer).order_by(Officer.active.desc(), Officer.name, Officer.id)).all()
        rows = [
            {
                "id": o.id,
                "name": o.name,
                "email": o.email,
                "role": o.role.value,
                "insight": o.insight,
                "data_protection": o.data_protection,
                "active": o.active,
                "locked_until": o.locked_until if accounts.is_locked(o, now) else None,
                "failed_logins": o.failed_logins,
                "created_at": o.created_at,
            }
            for o in officers
        ]
        events = accounts.recent_events(session)
    return {"accounts": rows, "events": events}


async def _page(
    request: Request,
    officer: WorkspaceOfficer,
    ctx: ServiceContext,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    data = await run_in_threadpool(_page_data, ctx)
    done = DONE.get(request.query_params.get("done", ""))
    return await render(
        request,
        "accounts.html",
        officer,
        status_code=status_code,
        error=error,
        done=done,
        form=form or {"name": "", "email": "", "role": Role.OFFICER.value},
        roles=[r.value for r in Role],
        min_password=MIN_PASSWORD_LENGTH,
        action_text=ACTION_TEXT,
        **data,
    )


@router.get("/accounts", response_class=HTMLResponse)
async def list_accounts(request: Request, officer: SupervisorOfficer, ctx: Context) -> Response:
    return await _page(request, officer, ctx)


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


@router.post("/accounts", response_class=HTMLResponse)
async def create_account(request: Request, officer: SupervisorOfficer, ctx: Context, form: CsrfForm) -> Response:
    name = _text(form, "name", 200)
    email = _text(form, "email", 254)
    role = _role(_text(form, "role", 20))
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    kept = {"name": name, "email": email, "role": role.value if role else Role.OFFICER.value}
    error = None
    if not name:
        error = "Enter the officer's name."
    elif not EMAIL.match(email):
        error = "Enter a work e-mail address, like name@council.gov.uk."
    elif role is None:
        error = "Choose officer or supervisor."
    elif not (MIN_PASSWORD_LENGTH <= len(password) <= 1024) or "\x00" in password:
        error = f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
    if error is None:
        assert role is not None
        try:
            await run_in_threadpool(_create, ctx, officer.id, name, email, password, role)
        except OfficerExists:
            error = "There is already an account with that e-mail address."
    if error is not None:
        return await _page(request, officer, ctx, status_code=422, error=error, form=kept)
    return RedirectResponse("/officer/accounts?done=created", status_code=303)


def _create(ctx: ServiceContext, actor_id: int, name: str, email: str, password: str, role: Role) -> None:
    with transaction(ctx.sessions) as session:
        accounts.create_account(session, actor_id, email=email, name=name, password=password, role=role)


def _change(ctx: ServiceContext, actor_id: int, officer_id: int, action: str, form: Any) -> None:
    with transaction(ctx.sessions) as session:
        if action == "deactivate":
            accounts.deactivate(session, actor_id, officer_id)
        elif action == "reactivate":
            accounts.reactivate(session, actor_id, officer_id)
        elif action == "unlock":
            accounts.unlock(session, actor_id, officer_id)
        elif action == "password":
            password = form.get("password")
            if not isinstance(password, str) or len(password) > 1024 or "\x00" in password:
                raise accounts.AccountRefused(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
            try:
                accounts.reset_password(session, actor_id, officer_id, password)
            except ValueError:
                raise accounts.AccountRefused(
                    f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
                ) from None
        elif action == "role":
            role = _role(_text(form, "role", 20))
            if role is None:
                raise accounts.AccountRefused("Choose officer or supervisor.")
            accounts.change_role(session, actor_id, officer_id, role)
        elif action == "insight":
            accounts.set_insight(session, actor_id, officer_id, form.get("insight") == "on")
        elif action == "data_protection":
            accounts.set_data_protection(session, actor_id, officer_id, form.get("data_protection") == "on")


ACTIONS = {
    "deactivate": "deactivated",
    "reactivate": "reactivated",
    "unlock": "unlocked",
    "password": "password_reset",
    "role": "role_changed",
    "insight": "insight_changed",
    "data_protection": "data_protection_changed",
}


@router.post("/accounts/{officer_id}/{action}", response_class=HTMLResponse)
async def change_account(
    request: Request, officer_id: int, action: str, officer: SupervisorOfficer, ctx: Context, form: CsrfForm
) -> Response:
    if action not in ACTIONS or not (1 <= officer_id <= 2**31 - 1):
        return await _page(request, officer, ctx, status_code=404, error="There is no such change to make.")
    try:
        await run_in_threadpool(_change, ctx, officer.id, officer_id, action, form)
    except accounts.AccountRefused as exc:
        return await _page(request, officer, ctx, status_code=422, error=str(exc))
    return RedirectResponse(f"/officer/accounts?done={ACTIONS[action]}#officer-{officer_id}", status_code=303)
