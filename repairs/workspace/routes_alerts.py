"""The alerts page: emergencies nobody has acknowledged, with "Acknowledge" and "Assign to me" (the same
service as the buttons in the officers' Telegram group), and where an officer links their Telegram account
(a one-time code to send to the bot: repairs/alerts/telegram_link.py) so their taps in that group count as
theirs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from repairs.alerts import actions, telegram_link
from repairs.auth.models import Officer
from repairs.auth.throttle_keys import throttle_secret
from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.workspace.auth import BackgroundOfficer, CsrfForm, CurrentOfficer, WorkspaceOfficer
from repairs.workspace.formatting import local_time, time_left
from repairs.workspace.templating import render, render_now

router = APIRouter()
Context = Annotated[ServiceContext, Depends(get_context)]
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]

# What a redirect after an action may say: fixed texts, so nothing from the address bar is echoed.
DONE = {
    "acknowledged": "{ref} acknowledged.",
    "already_acknowledged": "{ref} had already been acknowledged.",
    "assigned": "{ref} is assigned to you.",
    "already_assigned": "{ref} was already yours.",
    "unlinked": "Your Telegram account is no longer linked.",
}


@dataclass(frozen=True)
class AlertRow:
    id: int
    reference: str
    category: str
    block: str | None
    raised_at: str
    make_safe: str | None
    make_safe_late: bool


def _rows(ctx: ServiceContext) -> tuple[list[AlertRow], int]:
    now = utcnow()
    with transaction(ctx.sessions) as session:
        alerts, total = actions.open_alerts(session, limit=100)
    names = ctx.policy.categories
    return [
        AlertRow(
            id=a.id,
            reference=a.reference,
            category=names[a.category].name if a.category in names else a.category,
            block=a.block,
            raised_at=local_time(a.raised_at),
            make_safe=f"{local_time(a.make_safe_by)} ({time_left(a.make_safe_by, now)})" if a.make_safe_by else None,
            make_safe_late=a.make_safe_by is not None and a.make_safe_by < now,
        )
        for a in alerts
    ], total


@dataclass(frozen=True)
class TelegramState:
    linked: bool
    code_expires: str | None  # when a code made earlier and not yet used stops working


def _telegram_state(ctx: ServiceContext, officer_id: int) -> TelegramState:
    with transaction(ctx.sessions) as session:
        officer = session.get(Officer, officer_id)
        waiting = telegram_link.waiting_code_expiry(session, officer_id)
    return TelegramState(
        linked=officer is not None and officer.telegram_user_id is not None,
        code_expires=local_time(waiting) if waiting else None,
    )


async def _page(
    request: Request, officer: WorkspaceOfficer, ctx: ServiceContext, *, message: str | None = None,
    error: str | None = None, status_code: int = 200, issued: telegram_link.IssuedCode | None = None,
) -> HTMLResponse:
    rows, total = await run_in_threadpool(_rows, ctx)
    telegram = await run_in_threadpool(_telegram_state, ctx, officer.id)
    return await render(
        request, "alerts.html", officer, status_code=status_code, rows=rows, total=total, message=message,
        error=error, telegram=telegram, issued=issued,
        issued_expires=local_time(issued.expires_at) if issued else None,
        issued_link=telegram_link.deep_link(ctx.settings, issued.code) if issued else None,
        group_configured=ctx.settings.officer_alert_chat is not None,
    )


@router.get("/alerts/banner", response_class=HTMLResponse)
def alerts_banner(request: Request, officer: BackgroundOfficer) -> Response:
    """Only the emergency banner (empty when nothing waits), for an open page's banner.js to refresh.
    A plain def: its query runs in the thread pool, not the event loop. Asking is not the officer's
    activity: a page left open does not keep its session from going idle."""
    return render_now(request, "alerts_banner.html", officer)


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, officer: CurrentOfficer, ctx: Context) -> Response:
    done, ref = request.query_params.get("done", ""), request.query_params.get("ref", "")[:20]
    message = DONE[done].format(ref=ref) if done in DONE else None
    return await _page(request, officer, ctx, message=message)


def _act(ctx: ServiceContext, officer_id: int, alert_id: int, assign: bool) -> actions.AlertOutcome:
    with transaction(ctx.sessions) as session:
        return actions.act(session, alert_id, officer_id, assign=assign, via="workspace")


async def _handle(request: Request, officer: WorkspaceOfficer, ctx: ServiceContext, alert_id: int,
                  assign: bool) -> Response:
    try:
        outcome = await run_in_threadpool(_act, ctx, officer.id, alert_id, assign)
    except actions.AlertActionRefused as exc:
        status = 404 if exc.code == "not_found" else 409
        return await _page(request, officer, ctx, error=exc.message, status_code=status)
    query = urlencode({"done": outcome.outcome, "ref": outcome.reference})
    return RedirectResponse(f"/officer/alerts?{query}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: AlertId, request: Request, officer: CurrentOfficer, _form: CsrfForm, ctx: Context
) -> Response:
    return await _handle(request, officer, ctx, alert_id, assign=False)


@router.post("/alerts/{alert_id}/assign")
async def assign_to_me(
    alert_id: AlertId, request: Request, officer: CurrentOfficer, _form: CsrfForm, ctx: Context
) -> Response:
    return await _handle(request, officer, ctx, alert_id, assign=True)


def _issue(ctx: ServiceContext, officer_id: int) -> telegram_link.IssuedCode:
    secret = throttle_secret(ctx.settings)
    with transaction(ctx.sessions) as session:
        return telegram_link.issue_code(session, secret, officer_id)


@router.post("/alerts/telegram/code", response_class=HTMLResponse)
async def telegram_code(request: Request, officer: CurrentOfficer, _form: CsrfForm, ctx: Context) -> Response:
    """A one-time code for the officer to send to the bot. Shown on this answer only (never stored: its hash
    is), so it is a page, not a redirect; the page is no-store like every workspace page."""
    issued = await run_in_threadpool(_issue, ctx, officer.id)
    return await _page(request, officer, ctx, issued=issued)


def _unlink(ctx: ServiceContext, officer_id: int) -> None:
    with transaction(ctx.sessions) as session:
        telegram_link.unlink(session, officer_id)


@router.post("/alerts/telegram/unlink")
async def telegram_unlink(request: Request, officer: CurrentOfficer, _form: CsrfForm, ctx: Context) -> Response:
    await run_in_threadpool(_unlink, ctx, officer.id)
    return RedirectResponse(f"/officer/alerts?{urlencode({'done': 'unlinked'})}#telegram", status_code=303)
