"""What channel edges share through the system of record, so any replica can take any update:
- `POST /api/v1/channel-updates`: process each inbound update once across restarts and replicas. With the
  resident's `chat`, a first-seen update also carries on (or begins, and counts) the chat's conversation, in
  the same transaction (repairs/usage/conversations.py): no second call per message.
- `/api/v1/channel-state/{channel}/{chat}/{name}`: small expiring values of a chat's edge state (PUT, GET,
  DELETE that returns what it removed), and `DELETE /api/v1/channel-state/{channel}/{chat}` for all of them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from repairs_common.channels import EXTERNAL_ID_PATTERN, MAX_EXTERNAL_ID

from repairs.auth.dependencies import ContextDep, ServiceDep
from repairs.channels import state
from repairs.channels.updates import take_update
from repairs.database import transaction
from repairs.problems import Problem
from repairs.schemas import ChannelUserId, ResidentChannel
from repairs.usage.conversations import touch

router = APIRouter(prefix="/api/v1", tags=["channels"])


Channel = ResidentChannel
MAX_VALUE_BYTES = 8 * 1024  # a keyboard's id, a photo's file id and caption, one long payload: well under
MAX_TTL_SECONDS = 30 * 86400
ChatField = ChannelUserId


class UpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    update_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    # The resident's chat, when the update is a resident's message or button tap: counts its conversation.
    # Left out for anything else (an officers' group, an old caller).
    chat: ChatField | None = None


class UpdateOut(BaseModel):
    first: bool


@router.post(
    "/channel-updates",
    status_code=201,
    response_model=UpdateOut,
    responses={200: {"model": UpdateOut, "description": "Seen before: do not process it again"}},
    summary="Claim an inbound update: 201 the first time, 200 every time after",
)
def channel_update(body: UpdateBody, _service: ServiceDep, ctx: ContextDep) -> JSONResponse:
    with transaction(ctx.sessions) as session:
        first = take_update(session, body.channel, body.update_id)
        if first and body.chat is not None:
            touch(session, body.channel, body.chat, idle=ctx.settings.conversation_idle)
    return JSONResponse({"first": first}, status_code=201 if first else 200)


ChatPath = Annotated[str, Path(min_length=1, max_length=MAX_EXTERNAL_ID, pattern=EXTERNAL_ID_PATTERN)]
NamePath = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[a-z_]+(:[\x21-\x7e]{1,64})?$")]


class StateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any
    ttl_seconds: Annotated[int, Field(ge=1, le=MAX_TTL_SECONDS)]
    only_if_absent: bool = False


class StateOut(BaseModel):
    value: Any


def _encoded(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise Problem(413, "value_too_large", "Value too large", f"At most {MAX_VALUE_BYTES} bytes of JSON.")
    return text


def _gone() -> Problem:
    return Problem(404, "not_found", "Nothing kept under that name")


@router.put(
    "/channel-state/{channel}/{chat}/{name}",
    status_code=201,
    responses={409: {"description": "only_if_absent, and a live value is there"}},
    summary="Keep a small expiring value of a chat's edge state",
)
def put_state(channel: Channel, chat: ChatPath, name: NamePath, body: StateBody, _service: ServiceDep,
              ctx: ContextDep) -> Response:
    value = _encoded(body.value)
    with transaction(ctx.sessions) as session:
        stored = state.put(session, channel, chat, name, value, ttl=timedelta(seconds=body.ttl_seconds),
                           only_if_absent=body.only_if_absent)
    if not stored:
        raise Problem(409, "already_set", "A value is already kept under that name")
    return Response(status_code=201)


@router.get("/channel-state/{channel}/{chat}/{name}", response_model=StateOut, summary="Read a kept value")
def get_state(channel: Channel, chat: ChatPath, name: NamePath, _service: ServiceDep, ctx: ContextDep) -> StateOut:
    with transaction(ctx.sessions) as session:
        value = state.get(session, channel, chat, name)
    if value is None:
        raise _gone()
    return StateOut(value=json.loads(value))


@router.delete("/channel-state/{channel}/{chat}/{name}", response_model=StateOut,
               summary="Remove a kept value and return it (one of two racing callers gets it)")
def take_state(channel: Channel, chat: ChatPath, name: NamePath, _service: ServiceDep, ctx: ContextDep) -> StateOut:
    with transaction(ctx.sessions) as session:
        value = state.take(session, channel, chat, name)
    if value is None:
        raise _gone()
    return StateOut(value=json.loads(value))


@router.delete("/channel-state/{channel}/{chat}", status_code=204, summary="Remove everything kept for a chat")
def erase_state(channel: Channel, chat: ChatPath, _service: ServiceDep, ctx: ContextDep) -> Response:
    with transaction(ctx.sessions) as session:
        state.erase_chat(session, channel, chat)
    return Response(status_code=204)
