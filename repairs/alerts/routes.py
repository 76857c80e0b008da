"""Emergency alerts over HTTP: the officers' list and acknowledgement, an officer's Telegram link, and the
bot's call when someone taps a button on an alert in the officers' Telegram group."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from repairs.alerts import actions
from repairs.auth.dependencies import ContextDep, OfficerDep, Principal, ServiceDep
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.problems import Problem

router = APIRouter(tags=["alerts"])
log = logging.getLogger(__name__)

AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# Telegram user ids fit in 52 bits; chat ids (groups are negative) likewise.
TelegramId = Annotated[int, Field(ge=1, le=2**53)]

_STATUS = {"not_found": 404, "assigned_to_other": 409, "ticket_closed": 409, "telegram_user_taken": 409}


class AlertOut(BaseModel):
    id: int
    reference: str
    category: str
    priority: str
    block: str | None
    raised_at: datetime
    make_safe_by: datetime | None


class AlertList(BaseModel):
    items: list[AlertOut]
    total: int


class OutcomeOut(BaseModel):
    outcome: str
    message: str
    reference: str
    acknowledged_by: str | None
    assigned_to: str | None


class TelegramLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    telegram_user_id: TelegramId | None


class TelegramAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["acknowledge", "assign"]
    telegram_user_id: TelegramId
    chat_id: Annotated[int, Field(ge=-(2**53), le=2**53)]


def _refused(exc: actions.AlertActionRefused) -> Problem:
    return Problem(_STATUS.get(exc.code, 422), exc.code, "Not done", exc.message)


def _out(outcome: actions.AlertOutcome) -> OutcomeOut:
    return OutcomeOut(**outcome.__dict__)


@router.get("/api/v1/officer/alerts", response_model=AlertList, summary="Emergencies nobody has acknowledged")
def list_open(_officer: OfficerDep, ctx: ContextDep) -> AlertList:
    with transaction(ctx.sessions) as session:
        alerts, total = actions.open_alerts(session, limit=50)
    return AlertList(items=[AlertOut(**a.__dict__) for a in alerts], total=total)


def _officer_act(alert_id: int, principal: Principal, ctx: ServiceContext, *, assign: bool) -> OutcomeOut:
    assert principal.officer_id is not None
    with transaction(ctx.sessions) as session:
        try:
            return _out(actions.act(session, alert_id, principal.officer_id, assign=assign, via="api"))
        except actions.AlertActionRefused as exc:
            raise _refused(exc) from None


@router.post("/api/v1/officer/alerts/{alert_id}/acknowledge", response_model=OutcomeOut, summary="Acknowledge")
def acknowledge(alert_id: AlertId, principal: OfficerDep, ctx: ContextDep) -> OutcomeOut:
    return _officer_act(alert_id, principal, ctx, assign=False)


@router.post("/api/v1/officer/alerts/{alert_id}/assign-to-me", response_model=OutcomeOut, summary="Take the job")
def assign_to_me(alert_id: AlertId, principal: OfficerDep, ctx: ContextDep) -> OutcomeOut:
    return _officer_act(alert_id, principal, ctx, assign=True)


@router.put("/api/v1/officer/me/telegram", response_model=TelegramLink, summary="Link your Telegram user id")
def link_telegram(body: TelegramLink, principal: OfficerDep, ctx: ContextDep) -> TelegramLink:
    assert principal.officer_id is not None
    with transaction(ctx.sessions) as session:
        try:
            actions.link_telegram(session, principal.officer_id, body.telegram_user_id)
        except actions.AlertActionRefused as exc:
            raise _refused(exc) from None
    return body


@router.post(
    "/api/v1/alerts/{alert_id}/telegram-actions",
    response_model=OutcomeOut,
    summary="A tap on an alert's button in the officers' Telegram group (called by the bot)",
)
def telegram_action(alert_id: AlertId, body: TelegramAction, _service: ServiceDep, ctx: ContextDep) -> OutcomeOut:
    group = ctx.settings.officer_alert_chat
    # Only taps in the officers' own group count: the same buttons forwarded elsewhere do nothing.
    if group is None or str(body.chat_id) != group:
        raise Problem(403, "not_officers_chat", "Not allowed", "Alerts can only be handled in the officers' group.")
    with transaction(ctx.sessions) as session:
        officer = actions.officer_for_telegram(session, body.telegram_user_id)
        if officer is None:
            log.info("alert tap by an unlinked Telegram user", extra={"alert_id": alert_id})
            raise Problem(
                403,
                "unknown_officer",
                "Not a known officer",
                "Your Telegram account is not linked to an officer account. Your Telegram user id is "
                f"{body.telegram_user_id}: add it in the workspace under Alerts, then tap again.",
            )
        try:
            outcome = actions.act(session, alert_id, officer, assign=body.action != "acknowledge", via="telegram")
        except actions.AlertActionRefused as exc:
            raise _refused(exc) from None
    log.info("alert handled from telegram", extra={"alert_id": alert_id, "outcome": outcome.outcome,
                                                   "officer_id": officer.id})
    return _out(outcome)
