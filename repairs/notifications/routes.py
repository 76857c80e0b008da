"""The outbox as the bot's delivery workers see it: claim a batch, then say sent or failed for each row."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from repairs.auth.dependencies import ContextDep, ServiceDep
from repairs.database import transaction
from repairs.notifications import delivery
from repairs.problems import Problem
from repairs.schemas import ResidentChannel

router = APIRouter(prefix="/api/v1/outbox", tags=["delivery"])

# A short code such as "telegram_forbidden" or "timeout": never a resident's words or a chat's details.
ErrorCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,63}$")]
NoteId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    lease_seconds: int = Field(default=60, ge=1, le=3600)
    channels: list[ResidentChannel] = Field(min_length=1, max_length=4)
    # One chat's messages only (web chat pulls a resident's updates when their page asks): the rows of the
    # resident linked to this id on the one channel given, returned with this id whichever of their
    # chats on that channel is newest.
    external_id: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_channel_for_one_chat(self) -> ClaimBody:
        if self.external_id is not None and len(self.channels) != 1:
            raise ValueError("external_id needs exactly one channel")
        return self


class Button(BaseModel):
    title: str
    payload: str


class ClaimedItem(BaseModel):
    id: int
    delivery_key: str
    kind: str
    text: str
    data: dict[str, Any]
    attempts: int
    channel: str
    external_id: str
    buttons: list[Button]


class ClaimOut(BaseModel):
    items: list[ClaimedItem]


class FailedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: ErrorCode
    retryable: bool = True
    # The `attempts` the claim returned. When given, a report from a claim whose lease has since run out
    # (and which another worker may hold now) is ignored instead of disturbing the newer claim.
    attempt: int | None = Field(default=None, ge=1, le=1_000_000)


def _item(claimed: delivery.Claimed) -> ClaimedItem:
    payload = dict(claimed.note.payload or {})
    text = str(payload.pop("text", ""))
    buttons = payload.pop("buttons", None) or []
    return ClaimedItem(
        id=claimed.note.id,
        delivery_key=claimed.note.delivery_key,
        kind=claimed.note.kind,
        text=text,
        data=payload,
        attempts=claimed.note.attempts,
        channel=claimed.channel,
        external_id=claimed.external_id,
        buttons=[Button(**b) for b in buttons],
    )


def _not_found() -> Problem:
    return Problem(404, "not_found", "Notification not found")


@router.post("/claim", response_model=ClaimOut, summary="Lease due messages for some channels")
def claim(body: ClaimBody, _service: ServiceDep, ctx: ContextDep) -> ClaimOut:
    with transaction(ctx.sessions) as session:
        claimed = delivery.claim(
            session,
            channels=body.channels,
            limit=body.limit,
            lease=timedelta(seconds=body.lease_seconds),
            external_id=body.external_id,
        )
        return ClaimOut(items=[_item(c) for c in claimed])


class SentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The channel's id for the message that carries the buttons: kept for a fixed chat's message (the
    # officers' alert), so it can be edited later (repairs/alerts/group_message.py).
    message_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")


@router.post("/{note_id}/sent", status_code=204, summary="The channel accepted the message")
def sent(note_id: NoteId, _service: ServiceDep, ctx: ContextDep, body: SentBody | None = None) -> Response:
    with transaction(ctx.sessions) as session:
        if not delivery.mark_sent(session, note_id, message_id=body.message_id if body else None):
            raise _not_found()
    return Response(status_code=204)


@router.post("/{note_id}/failed", status_code=204, summary="The channel did not take the message")
def failed(note_id: NoteId, body: FailedBody, _service: ServiceDep, ctx: ContextDep) -> Response:
    with transaction(ctx.sessions) as session:
        found = delivery.mark_failed(
            session,
            note_id,
            error=body.error,
            retryable=body.retryable,
            attempt=body.attempt,
            delays=ctx.settings.outbox_retry_delays_seconds,
        )
        if not found:
            raise _not_found()
    return Response(status_code=204)
