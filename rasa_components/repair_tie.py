"""A near tie between two kinds of repair is not a message the assistant failed to understand.

Rasa's FallbackClassifier calls a message not understood (`nlu_fallback`) when its top two intents are within
`ambiguity_threshold` of each other. Between, say, `repair_fittings` and `repair_plumbing` ("the seal round the
bath has gone and water gets behind it") that is the wrong answer: what the resident wants is plain (to report a
repair), only its category is open, and the report form already asks for the category with buttons. Sending such
a message to "Did you mean ...?" costs the resident a step and, for a leak, delays the report. So when the
fallback was raised only by a tie between two repair intents (the top one above `min_confidence`, the
FallbackClassifier's own threshold), the top repair intent is put back; every other fallback stands.

This component stands right after the FallbackClassifier in config.yml.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RepairTieResolver(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # min_confidence: keep equal to the FallbackClassifier's threshold, so a low-confidence fallback stands.
        return {"repair_prefix": "repair_", "min_confidence": 0.2}

    def __init__(self, config: Dict[Text, Any]) -> None:
        merged = {**self.get_default_config(), **config}
        self._prefix = str(merged["repair_prefix"])
        self._min_confidence = float(merged["min_confidence"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> RepairTieResolver:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            restored = self._tied_repair(message)
            if restored is not None:
                message.set(INTENT, restored, add_to_output=True)
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FALLBACK]
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def _tied_repair(self, message: Message) -> Optional[Dict[Text, Any]]:
        """The top repair intent when the fallback came only from two repair intents tying, else None."""
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != FALLBACK:
            return None
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FALLBACK]
        if len(ranking) < 2:
            return None
        first, second = ranking[0], ranking[1]
        both_repairs = all(str(r.get(INTENT_NAME_KEY) or "").startswith(self._prefix) for r in (first, second))
        if not both_repairs or float(first.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < self._min_confidence:
            return None
        return dict(first)
