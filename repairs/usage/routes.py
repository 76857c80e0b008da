"""`POST /api/v1/assistant/usage`: the action server counts a conversation, a misunderstanding or a handoff."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from repairs.auth.dependencies import CHANNELS, ContextDep, ServiceDep
from repairs.database import transaction
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
    channel = body.channel if body.channel in CHANNELS else "other"
    with transaction(ctx.sessions) as session:
        count(session, body.event, channel)
    return Response(status_code=204)
