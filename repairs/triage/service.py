"""Triage: what a message is, what it is about, and how urgent it is.

The trained Rasa model says what the resident wants and, for repairs, which category; the
policy engine (the same rules tickets get) says the priority, whether it is an emergency, and
the safety advice. Officers use it for text that arrives by e-mail or social media.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repairs_common.taxonomy import category_from_intent

from repairs.policy.engine import Assessment, Policy
from repairs.tickets.models import LocationType
from repairs.triage.intents import contract_intent
from repairs.triage.rasa_client import Parse

COMMUNAL_WORDS = ("stairwell", "stairs in the block", "communal", "landing", "lift", "corridor", "bin store",
                  "entrance", "door entry", "chute", "car park", "estate")


@dataclass(frozen=True)
class Triage:
    intent: str
    category: str | None
    priority: str | None
    emergency: bool
    confidence: float
    advice: str | None
    facts: dict[str, Any] | None = None  # wire form of the facts decided on
    question: dict[str, Any] | None = None  # what to ask when an unknown fact would change the priority
    rule: str | None = None  # the rule that gave the priority


def decision_fields(assessment: Assessment) -> dict[str, Any]:
    """What a decision rests on, in wire form: the facts, the question (or None) and the rule."""
    return {
        "facts": assessment.facts.to_json() if assessment.facts is not None else None,
        "question": assessment.question.to_json() if assessment.question is not None else None,
        "rule": assessment.rule,
    }


def triage(parse: Parse, text: str, policy: Policy, *, now: datetime) -> Triage:
    # Below the fallback threshold the assistant asks the resident what they meant; triage has no
    # one to ask, so it takes the best real guess and reports its (low) confidence.
    best = parse.intent
    confidence = parse.confidence
    if best == "nlu_fallback":
        best, confidence = next(((n, c) for n, c in parse.ranking if n != "nlu_fallback"), ("out_of_scope", 0.0))
    intent = contract_intent(best)
    category = category_from_intent(best)
    if intent == "report_repair" and category is None:
        # A finer repair intent ("it's still not fixed"): take the likeliest category in the ranking.
        category = next(
            (c for c in (category_from_intent(name) for name, _ in parse.ranking) if c), "other"
        )
    vulnerable = policy.vulnerable_in_words(text, parse.facts)
    lowered = text.lower()
    location = LocationType.COMMUNAL if any(w in lowered for w in COMMUNAL_WORDS) else LocationType.IN_HOME
    # Safety first: if the words describe an emergency (a gas smell above all), it is a repair
    # report whatever the classifier thought the message was.
    assessment = policy.assess(category or "other", text, vulnerable=vulnerable, tenure=None,
                               location_type=location, at=now, learned_emergency=parse.emergency,
                               facts=parse.facts)
    if intent != "report_repair" and assessment.emergency:
        intent = "report_repair"
        guessed = _category_for_advice(assessment.advice_key) or "other"
        if guessed != "other":  # the emergency's own category: assess once more under it
            category = guessed
            assessment = policy.assess(category, text, vulnerable=vulnerable, tenure=None,
                                       location_type=location, at=now, learned_emergency=parse.emergency,
                                       facts=parse.facts)
        category = category or "other"
    if intent != "report_repair" or category is None:
        return Triage(intent=intent, category=None, priority=None, emergency=False,
                      confidence=round(confidence, 4), advice=None)
    return Triage(
        intent=intent,
        category=category,
        priority=assessment.priority.value,
        emergency=assessment.emergency,
        confidence=round(confidence, 4),
        advice=assessment.advice,
        **decision_fields(assessment),
    )


def _category_for_advice(advice_key: str | None) -> str | None:
    return {
        "gas": "gas",
        "carbon_monoxide": "gas",
        "water": "plumbing",
        "toilet": "plumbing",
        "sewage": "plumbing",
        "electrical": "electrical",
        "power_loss": "electrical",
        "security": "doors_windows",
        "lift": "lifts",
        "ceiling": "walls_floors",
        "heating_vulnerable": "heating",
        "fall_from_height": "doors_windows",
        "structural": "walls_floors",
    }.get(advice_key or "")
