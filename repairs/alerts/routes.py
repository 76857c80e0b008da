"""Emergency alerts over HTTP: the officers' list and acknowledgement, an officer's Telegram link (a one-time
code the officer sends to the bot: repairs/alerts/telegram_link.py), and the bot's calls when someone taps a
button on an alert in the officers' Telegram group or sends the bot a link code."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from repairs.alerts import actions, telegram_link
from repairs.auth.dependencies import ContextDep, OfficerDep, Principal, ServiceDep
from repairs.auth.models import Officer
from repairs.auth.throttle_keys import throttle_secret
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.problems import Problem
from repairs.residents.verify_throttle import TooManyAttempts, begin_counted, succeeded

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


class TelegramLinkState(BaseModel):
    linked: bool
    telegram_user_id: int | None


class TelegramLinkCodeOut(BaseModel):
    code: str = Field(description="Send `/link CODE` to the bot from your own Telegram account")
    expires_at: datetime
    link: str | None = Field(description="t.me link that sends the code for you (when the bot's username is set)")


class TelegramLinkRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=40)
    telegram_user_id: TelegramId


class TelegramLinked(BaseModel):
    officer_name: str
    message: str


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


@router.get("/api/v1/officer/me/telegram", response_model=TelegramLinkState, summary="Your Telegram link")
def telegram_state(principal: OfficerDep, ctx: ContextDep) -> TelegramLinkState:
    with transaction(ctx.sessions) as session:
        officer = session.get(Officer, principal.officer_id)
        linked = officer.telegram_user_id if officer is not None else None
    return TelegramLinkState(linked=linked is not None, telegram_user_id=linked)


@router.post("/api/v1/officer/me/telegram/link-code", response_model=TelegramLinkCodeOut, status_code=201,
             summary="A one-time code to link your Telegram account (send it to the bot within 10 minutes)")
def telegram_link_code(principal: OfficerDep, ctx: ContextDep) -> TelegramLinkCodeOut:
    assert principal.officer_id is not None
    secret = throttle_secret(ctx.settings)
    with transaction(ctx.sessions) as session:
        issued = telegram_link.issue_code(session, secret, principal.officer_id)
    return TelegramLinkCodeOut(code=issued.code, expires_at=issued.expires_at,
                               link=telegram_link.deep_link(ctx.settings, issued.code))


@router.delete("/api/v1/officer/me/telegram", status_code=204, summary="Unlink your Telegram account")
def telegram_unlink(principal: OfficerDep, ctx: ContextDep) -> Response:
    assert principal.officer_id is not None
    with transaction(ctx.sessions) as session:
        telegram_link.unlink(session, principal.officer_id)
    return Response(status_code=204)


@router.post("/api/v1/telegram/officer-links", response_model=TelegramLinked,
             summary="An officer sent the bot a link code (called by the bot)")
def telegram_redeem(body: TelegramLinkRedeem, _service: ServiceDep, ctx: ContextDep) -> TelegramLinked:
    secret = throttle_secret(ctx.settings)
    key = [(telegram_link.guess_key(secret, body.telegram_user_id), telegram_link.link_throttle(ctx.settings))]
    try:
        # Counted as a wrong code before it is checked, and committed (as identity checks are).
        with transaction(ctx.sessions) as session:
            attempt = begin_counted(session, key)
    except TooManyAttempts as exc:
        raise Problem(429, "too_many_attempts", "Too many attempts",
                      "Too many codes from this Telegram account did not work. Please wait a while.",
                      headers={"Retry-After": str(exc.retry_after_seconds)}) from None
    try:
        with transaction(ctx.sessions) as session:
            officer = telegram_link.redeem(session, secret, body.code, body.telegram_user_id)
            name = officer.name
            succeeded(session, attempt)
    except telegram_link.LinkRefused as exc:
        if exc.code != "code_not_valid":  # a right code, refused for another reason: not a guess
            with transaction(ctx.sessions) as session:
                succeeded(session, attempt)
        log.info("telegram link refused", extra={"code": exc.code})
        raise Problem(409 if exc.code == "telegram_user_taken" else 422, exc.code, "Not linked", exc.message) from None
    log.info("telegram account linked to an officer")
    return TelegramLinked(officer_name=name, message=f"Linked: your taps on alerts now count as {name}'s.")


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
                "Your Telegram account is not linked to an officer account. In the workspace, open Alerts and "
                "make a link code, send it to this bot in a private chat, then tap again.",
            )
        try:
            outcome = actions.act(session, alert_id, officer, assign=body.action != "acknowledge", via="telegram")
        except actions.AlertActionRefused as exc:
            raise _refused(exc) from None
    log.info("alert handled from telegram", extra={"alert_id": alert_id, "outcome": outcome.outcome,
                                                   "officer_id": officer.id})
    return _out(outcome)
