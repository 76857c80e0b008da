"""The assistant's usage counters, from the edges that see it being used:
- `POST /api/v1/assistant/usage`: the action server counts a misunderstanding or a handoff.
- `POST /api/v1/assistant/conversations`: a channel edge that claims no updates (web chat) says a resident's
  message arrived, once per turn; the service counts a conversation when it begins (Telegram's edge does
  this with its update claim instead, `POST /api/v1/channel-updates` with `chat`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict
from repairs_common.channels import is_resident_channel

from repairs.auth.dependencies import ContextDep, ServiceDep
from repairs.channels.routes import Channel, ChatField
from repairs.database import transaction
from repairs.usage.conversations import touch
from repairs.usage.counting import count
from repairs.usage.models import UsageEvent

router = APIRouter(prefix="/api/v1/assistant", tags=["assistant usage"])


class UsageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: UsageEvent
    # The chat's channel only (never the chat): a sender the service does not know counts as "other".
    channel: str = "other"


@router.post("/usage", status_code=204, summary="Count one conversation, misunderstanding or handoff")
def record_usage(body: UsageBody, _service: ServiceDep, ctx: ContextDep) -> Response:
    channel = body.channel if is_resident_channel(body.channel) else "other"
    with transaction(ctx.sessions) as session:
        count(session, body.event, channel)
    return Response(status_code=204)


class ConversationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    chat: ChatField  # kept only as the chat's expiring channel state, never in the counters


@router.post(
    "/conversations",
    status_code=201,
    responses={201: {"description": "A new conversation began, and was counted"},
               204: {"description": "The chat's conversation goes on"}},
    summary="A resident's message arrived: count a conversation when it begins one",
)
def touch_conversation(body: ConversationBody, _service: ServiceDep, ctx: ContextDep) -> Response:
    with transaction(ctx.sessions) as session:
        began = touch(session, body.channel, body.chat, idle=ctx.settings.conversation_idle)
    return Response(status_code=201 if began else 204)
