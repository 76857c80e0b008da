"""Training examples that teach the intent only: their facts and their emergency kind are not labelled.

nlu/intent_mixed_requests.yml holds cancels, status questions and requests for a person that name the repair in
detail ("the boiler's been off since Saturday, when is the engineer coming?"), and new reports that use those
intents' words. Two learners read every intent example as a label of their own: the facts extractor counts a
status question or a cancel as a message with no facts, and the emergency classifier counts every example without
fact labels as no emergency. Either would learn from these that a boiler off since Saturday, or the only toilet
blocked, is nothing: measured through the product path, the development set's emergency recall fell from 129 of
129 to 128 (no heating with twins of eighteen months lost its heating fact) when they were counted. So a block
whose intent metadata says `labels: intent_only` teaches the intent classifier, and both of those leave it out.
"""

from __future__ import annotations

from typing import Any, Mapping

INTENT_ONLY = "intent_only"


def teaches_intent_only(intent_metadata: Any) -> bool:
    """Whether an example's intent-level metadata (Rasa's `metadata` under `- intent:`) marks it intent-only."""
    return isinstance(intent_metadata, Mapping) and intent_metadata.get("labels") == INTENT_ONLY
