"""Does the message express dissatisfaction with the council? Adds `dissatisfaction: {"score", "dissatisfied"}`
to the parse result, which the actions read to offer a formal complaint (actions/dissatisfaction.py).

The classifier is the shared one (packages/repairs_dissatisfaction: a logistic regression over the same MiniLM
embedding the featurizer has already computed, and the message's character n-grams), so a one-sentence message
costs a dot product and a few dictionary look-ups. A longer one has its sentences encoded and scored too, and
combined with the whole by the package's rule (`scoring.score_embedded`), so one sentence of grievance inside a
long report counts; the listening page scores stored messages by the same rule, with the same numbers. It is not
trained with the assistant: its weights are the package's model.json, learned from the package's own labelled set.

It also settles one kind of message the intents cannot: dissatisfaction aimed at the council that reads, to the
intent classifier, as small talk ("you lot are useless" as asking whether this is a bot, "thanks for nothing" as
thanks, "this council is a joke" not understood at all). Answering those with "I'm an automated assistant" or
"you're welcome" is the wrong reply to a complaint, so when the message is dissatisfied, no emergency is
signalled, its intent is one of `reroute_intents` and its score reaches `reroute_threshold` (higher than the
offer's own: a reroute replaces the answer to what was asked), the intent becomes `complaint` and the parse says
so (`dissatisfaction.rerouted_from`): actions/complaints.py then offers to log a complaint rather than recording
one unasked. Out of scope is not among them: "the bin men didn't come again" is unhappy with another service of
the council, and the pointer to it is the right answer. Repair reports, status questions and the rest keep their
intent: their flow runs first and the offer follows (actions/dissatisfaction.py). This component stands after
the FallbackClassifier so that it sees `nlu_fallback` too.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from repairs_dissatisfaction.model import DissatisfactionModel, load_model
from repairs_dissatisfaction.scoring import score_embedded
from repairs_encoder.encoder import shared_encoder

logger = logging.getLogger(__name__)

OUTPUT = "dissatisfaction"
COMPLAINT = "complaint"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class DissatisfactionDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # threshold: None keeps the one chosen with the model (repairs_dissatisfaction/model.json).
        # reroute_intents: the small-talk intents whose dissatisfied messages are taken as complaints.
        # reroute_threshold follows the model's calibration: since the December 2026 retrain (C=1, softer
        # probabilities) the bot_challenge, thank and goodbye examples in nlu/ score at most 0.62 and sarcastic
        # thanks or "useless" aimed at the council 0.73 and up; 0.85 (set for the old C=30 model) missed those.
        # With the int8 encoder the same texts move by up to 0.03: the highest of those nlu/ examples is 0.64
        # ("is anyone actually reading these messages") and "Thanks for nothing" 0.69, so the line sits between.
        return {"threshold": None, "reroute_threshold": 0.67,
                "reroute_intents": ["bot_challenge", "nlu_fallback", "thank", "goodbye"]}

    def __init__(self, config: Dict[Text, Any], model: DissatisfactionModel, encoder: Any = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model = model
        # The sentences of long messages need the encoder: by default the featurizer's own (one per process).
        self._given_encoder = encoder
        configured = self._config.get("threshold")
        self._threshold = float(configured) if configured is not None else model.threshold

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> DissatisfactionDetector:
        return cls(config, load_model())

    @staticmethod
    def required_packages() -> List[Text]:
        return ["repairs_dissatisfaction"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        # Typed words only: a button's payload ("/affirm") says nothing about how the resident feels, and the
        # featurizer gives it an all-zero vector.
        scored = [m for m in messages if m.get(TEXT) and not str(m.get(TEXT)).startswith("/")]
        vectors = [_sentence_vector(m) for m in scored]
        present = [(m, v) for m, v in zip(scored, vectors, strict=True) if v is not None]
        if not present:
            return messages
        scores = score_embedded(np.stack([v for _, v in present]), [str(m.get(TEXT)) for m, _ in present],
                                encoder=self._given_encoder or shared_encoder(), model=self._model)
        reroute = set(self._config.get("reroute_intents") or [])
        for (message, _), score in zip(present, scores, strict=True):
            signal: Dict[str, Any] = {"score": round(float(score), 4), "dissatisfied": bool(score >= self._threshold)}
            intent = message.get(INTENT) or {}
            sure = score >= max(float(self._config["reroute_threshold"]), self._threshold)
            if sure and intent.get("name") in reroute and not _emergency(message):
                signal["rerouted_from"] = intent.get("name")
                message.set(INTENT, {"name": COMPLAINT, "confidence": round(float(score), 4)}, add_to_output=True)
            message.set(OUTPUT, signal, add_to_output=True)
        return messages


def _emergency(message: Message) -> bool:
    """Whether the emergency classifier (before this in the pipeline) raised its signal."""
    signal = message.get("emergency")
    return isinstance(signal, dict) and signal.get("kind") not in (None, "none")


def _sentence_vector(message: Message) -> Optional[np.ndarray]:
    dense = message.get_dense_features(attribute=TEXT)[1]
    if dense is None:
        logger.warning("DissatisfactionDetector needs a sentence embedding: put the MiniLM featurizer before it")
        return None
    return np.asarray(dense.features, dtype=np.float32).reshape(-1)
