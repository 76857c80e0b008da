"""How residents reach a person: the council's numbers and hours, and callback requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from repairs.auth.dependencies import ContextDep, PrincipalDep, ResidentDep
from repairs.database import utcnow
from repairs.idempotency.service import request_fingerprint, run_once, validate_key
from repairs.schemas import LongText
from repairs.tickets.models import CallbackRequest

router = APIRouter(prefix="/api/v1", tags=["contact"])


class CouncilOut(BaseModel):
    name: str
    repairs_phone: str
    out_of_hours_phone: str
    opening_hours: str
    gas_emergency_phone: str = "0800 111 999"


class CallbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: LongText


class CallbackOut(BaseModel):
    status: str
    message: str


@router.get("/council", response_model=CouncilOut, summary="The council's contact details")
def council(_principal: PrincipalDep, ctx: ContextDep) -> CouncilOut:
    s = ctx.settings
    return CouncilOut(name=s.council_name, repairs_phone=s.repairs_phone, out_of_hours_phone=s.out_of_hours_phone,
                      opening_hours=s.opening_hours)


@router.post("/callbacks", status_code=201, response_model=CallbackOut, summary="Ask for a person to call back")
def request_callback(
    body: CallbackBody,
    actor: ResidentDep,
    ctx: ContextDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=400)] = None,
) -> JSONResponse:
    key = validate_key(idempotency_key)

    def create(session: Session) -> tuple[int, dict[str, object]]:
        session.add(CallbackRequest(resident_id=actor.resident_id, reason=body.reason, channel=actor.channel,
                                    created_at=utcnow()))
        s = ctx.settings
        out = CallbackOut(
            status="requested",
            message=(f"Someone from the repairs team will call you back ({s.opening_hours}). "
                     f"If it's urgent, call {s.repairs_phone}."),
        )
        return 201, out.model_dump(mode="json")

    outcome = run_once(ctx.sessions, principal=f"{actor.principal_key}:callbacks", key=key,
                       fingerprint=request_fingerprint(body.model_dump(mode="json")), create=create)
    return JSONResponse(outcome.body, status_code=outcome.status_code)
