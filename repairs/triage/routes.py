"""POST /api/v1/triage: the contract other tools rely on (keep its shape exactly)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from repairs.auth.dependencies import ContextDep, PrincipalDep
from repairs.database import utcnow
from repairs.problems import Problem
from repairs.reported_facts import facts_or_422
from repairs.schemas import LongText
from repairs.tickets.models import LocationType
from repairs.triage.rasa_client import NluUnavailable
from repairs.triage.service import decision_fields, triage

router = APIRouter(prefix="/api/v1", tags=["triage"])


class TriageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText = Field(description="A resident's message, as written")


class OptionOut(BaseModel):
    label: str
    value: bool | str


class QuestionOut(BaseModel):
    qualifier: str
    text: str
    options: list[OptionOut]


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
    # Added December 2026 (CONTRACTS.md): what the decision rests on. The six fields above stay as they are.
    facts: dict[str, Any] | None = Field(
        default=None, description="The facts the priority was decided from (repairs_common.facts' wire form); "
        "null when the assistant's model sent none and the phrase rules decided")
    question: QuestionOut | None = Field(
        default=None, description="What to ask the resident when an unknown fact would change the priority")
    rule: str | None = Field(default=None, description="The rule that gave the priority; null for the "
                             "category's default")


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
        facts=result.facts,
        question=QuestionOut.model_validate(result.question) if result.question else None,
        rule=result.rule,
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
    facts: dict[str, Any] | None = Field(
        default=None, description="What the assistant read in the message (repairs_common.facts' wire form); "
        "with them the fact rules decide, without them the phrase rules")
    answers: dict[str, bool | str] | None = Field(
        default=None, max_length=12, description="The resident's answers to questions: qualifier -> value")


class AssessOut(BaseModel):
    priority: Literal["emergency", "urgent", "routine"]
    emergency: bool
    advice: str | None
    facts: dict[str, Any] | None = None
    question: QuestionOut | None = None
    rule: str | None = None


@router.post("/assess", response_model=AssessOut, summary="How urgent a described repair is (policy only)")
def assess(body: AssessBody, _principal: PrincipalDep, ctx: ContextDep) -> AssessOut:
    """For the assistant, which already knows the category: the policy's priority, emergency and safety
    advice for the words the resident used. Safety advice must not wait for verification, so no
    resident is needed; words that mention someone vulnerable count."""
    try:
        ctx.policy.category(body.category)
    except KeyError:
        raise Problem(422, "unknown_category", "Unknown category") from None
    facts = facts_or_422(body.facts, body.answers)
    result = ctx.policy.assess(
        body.category, body.text, vulnerable=ctx.policy.vulnerable_in_words(body.text, facts), tenure=None,
        location_type=LocationType(body.location_type), at=utcnow(), learned_emergency=body.emergency_signal,
        facts=facts,
    )
    return AssessOut(priority=result.priority.value, emergency=result.emergency, advice=result.advice,
                     **decision_fields(result))

