"""`POST /api/v1/channel-updates`: lets the bot process each inbound update once across restarts and replicas."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from repairs.auth.dependencies import ContextDep, ServiceDep
from repairs.channels.updates import take_update
from repairs.database import transaction

router = APIRouter(prefix="/api/v1", tags=["channels"])


class UpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["telegram", "web", "whatsapp", "sms"]
    update_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


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
    return JSONResponse({"first": first}, status_code=201 if first else 200)
