"""A learned emergency signal: does this message describe an emergency, and of which kind?

The repairs policy's phrase rules (data/policy.yml) decide most emergencies, but residents describe
a flood or a break-in in more ways than any list of phrases holds ("the power's gone in the whole
flat", "somebody forced the front door and the frame is split"). This classifier learns the kinds
of emergency from the examples in nlu/emergencies.yml, whose blocks carry `metadata: {emergency:
<kind>}`; every other training example counts as "none". The kinds are the policy's advice keys
(water, gas, security, ...), so the repairs service can give the matching safety advice.

It adds `emergency: {"kind": ..., "confidence": ...}` to the parse result. The signal only ever
raises a report to an emergency (the policy engine decides; see Policy.assess `learned_emergency`):
a false alarm costs a paragraph of advice and a fast visit, a miss can cost a life.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import METADATA, METADATA_EXAMPLE, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)

NONE = "none"
OUTPUT = "emergency"


def emergency_label(message: Message) -> str:
    """The kind of emergency a training example is labelled with, or "none"."""
    metadata = message.get(METADATA) or {}
    intent_metadata = metadata.get(METADATA_INTENT) if isinstance(metadata, dict) else None
    kind = intent_metadata.get("emergency") if isinstance(intent_metadata, dict) else None
    return str(kind) if kind else NONE


def _has_fact_labels(message: Message) -> bool:
    metadata = message.get(METADATA) or {}
    example = metadata.get(METADATA_EXAMPLE) if isinstance(metadata, dict) else None
    return isinstance(example, dict) and "facts" in example


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Probability of "some emergency" above which the signal is raised. Chosen by
            # cross-validation on the training data together with the phrase rules (`make eval`).
            "threshold": 0.7,
            # Inverse regularisation strength of the logistic regression.
            "C": 1.0,
            # Weight of the sentence embedding against the word and character counts: the embedding's
            # 384 values are small, and meaning is what finds a flood described in new words.
            "dense_weight": 5.0,
            "max_iter": 2000,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 clf: Optional[LogisticRegression] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._clf = clf

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EmergencyClassifier:
        return cls(config, model_storage, resource)

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    def _features(self, messages: List[Message]) -> csr_matrix:
        rows = []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            parts = []
            if sparse is not None:
                parts.append(csr_matrix(sparse.features))
            if dense is not None:
                parts.append(csr_matrix(np.asarray(dense.features) * float(self._config["dense_weight"])))
            rows.append(hstack(parts) if parts else csr_matrix((1, 0)))
        return vstack(rows).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        # The fact-labelled reports (nlu/facts_*.yml) carry no emergency kind: counted here they would teach
        # that a burst pipe is "none", so this classifier leaves them to the fact extractor.
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and not _has_fact_labels(m)]
        labels = [emergency_label(m) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("EmergencyClassifier: no labelled emergencies in the training data; not trained.")
            return self._resource
        clf = LogisticRegression(C=float(self._config["C"]), class_weight="balanced",
                                 max_iter=int(self._config["max_iter"]))
        clf.fit(self._features(examples), labels)
        self._clf = clf
        self._persist()
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._clf is None:
            return messages
        texts = [m for m in messages if m.get(TEXT)]
        if not texts:
            return messages
        probabilities = self._clf.predict_proba(self._features(texts))
        classes = list(self._clf.classes_)
        none = classes.index(NONE)
        for message, row in zip(texts, probabilities, strict=True):
            p_emergency = float(1.0 - row[none])
            kinds = [(p, c) for p, c in zip(row, classes, strict=True) if c != NONE]
            best = max(kinds)[1] if kinds else NONE
            kind = best if p_emergency >= float(self._config["threshold"]) else NONE
            message.set(OUTPUT, {"kind": kind, "confidence": round(p_emergency, 4), "likeliest": best},
                        add_to_output=True)
        return messages

    def _persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self._clf, directory / "emergency.skops")

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> EmergencyClassifier:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / "emergency.skops"
                # Only scikit-learn and NumPy types are in the file; anything else means it is not ours.
                untrusted = sio.get_untrusted_types(file=path)
                if any(not t.startswith(("sklearn.", "numpy.")) for t in untrusted):
                    raise ValueError(f"unexpected types in {path.name}: {untrusted}")
                clf = sio.load(path, trusted=untrusted)
        except ValueError:
            logger.warning("EmergencyClassifier: no trained model found; the learned signal is off.")
            clf = None
        return cls(config, model_storage, resource, clf)
