"""POST /api/v1/triage: the contract other tools rely on (keep its shape exactly)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from repairs.auth.dependencies import ContextDep, PrincipalDep
from repairs.database import utcnow
from repairs.problems import Problem
from repairs.schemas import LongText
from repairs.tickets.models import LocationType
from repairs.triage.rasa_client import NluUnavailable
from repairs.triage.service import triage

router = APIRouter(prefix="/api/v1", tags=["triage"])


class TriageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText = Field(description="A resident's message, as written")


class TriageOut(BaseModel):
    intent: Literal[
        "report_repair", "check_status", "cancel_repair", "complaint", "request_human", "greet", "goodbye",
        "thank", "out_of_scope",
    ]
    category: str | None
    priority: Literal["emergency", "urgent", "routine"] | None
    emergency: bool
    confidence: float = Field(ge=0.0, le=1.0)
    advice: str | None


@router.post("/triage", response_model=TriageOut, summary="Understand a message: intent, category, priority")
def triage_message(body: TriageBody, _principal: PrincipalDep, ctx: ContextDep) -> TriageOut:
    try:
        parse = ctx.nlu.parse(body.text)
    except NluUnavailable:
        raise Problem(
            503, "nlu_unavailable", "Language understanding unavailable",
            "The assistant's language model is not answering; try again shortly.",
            headers={"Retry-After": "10"},
        ) from None
    result = triage(parse, body.text, ctx.policy, now=utcnow())
    return TriageOut(
        intent=result.intent,
        category=result.category,
        priority=result.priority,
        emergency=result.emergency,
        confidence=min(max(result.confidence, 0.0), 1.0),
        advice=result.advice,
    )


class AssessBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=30)
    text: LongText
    location_type: Literal["in_home", "communal", "external"] = "in_home"
    emergency_signal: str | None = Field(
        default=None, max_length=40,
        description="The assistant model's emergency kind for these words (an advice key such as 'water'); "
        "can raise the priority to an emergency, never lower it",
    )


class AssessOut(BaseModel):
    priority: Literal["emergency", "urgent", "routine"]
    emergency: bool
    advice: str | None


@router.post("/assess", response_model=AssessOut, summary="How urgent a described repair is (policy only)")
def assess(body: AssessBody, _principal: PrincipalDep, ctx: ContextDep) -> AssessOut:
    """For the assistant, which already knows the category: the policy's priority, emergency and safety
    advice for the words the resident used. Safety advice must not wait for verification, so no
    resident is needed; words that mention someone vulnerable count."""
    try:
        ctx.policy.category(body.category)
    except KeyError:
        raise Problem(422, "unknown_category", "Unknown category") from None
    result = ctx.policy.assess(
        body.category, body.text, vulnerable=ctx.policy.mentions_vulnerability(body.text), tenure=None,
        location_type=LocationType(body.location_type), at=utcnow(), learned_emergency=body.emergency_signal,
    )
    return AssessOut(priority=result.priority.value, emergency=result.emergency, advice=result.advice)
