"""A Rasa component that extracts the facts a call handler decides priority on (evaluation/FACTS.md).

It learns from the fact-labelled examples in nlu/facts_*.yml (each example's metadata carries
`facts: {affected: [...], <qualifier>: <value>}`) and from the examples of intents that report nothing
(greetings, status questions), which have no facts. It reads the sentence embedding the MiniLM featurizer has
already put on each message, so nothing is encoded twice, and adds `facts` (repairs_common.facts wire form) to
the parse result: /model/parse returns it and the tracker's latest_message carries it. The repairs service's
policy decides priority from these facts; this component decides nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Mapping, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, METADATA, METADATA_EXAMPLE, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from repairs_common.facts import Facts

from rasa_components import fact_cues
from rasa_components.facts_model import NO_FACTS_INTENTS, FactsModel, features
from rasa_components.intent_only import teaches_intent_only

logger = logging.getLogger(__name__)

OUTPUT = "facts"
ARRAYS = "facts_model.npz"
META = "facts_model.json"


def fact_labels(message: Message) -> Optional[Mapping[str, Any]]:
    """The facts a training example is labelled with; {} (no facts) for an intent that reports nothing;
    None when the example is not labelled (it is then not used), as intent-only examples are not."""
    metadata = message.get(METADATA) or {}
    if isinstance(metadata, dict) and teaches_intent_only(metadata.get(METADATA_INTENT)):
        return None
    example = metadata.get(METADATA_EXAMPLE) if isinstance(metadata, dict) else None
    labels = example.get("facts") if isinstance(example, dict) else None
    if isinstance(labels, dict):
        Facts.from_labels(labels)  # refuses a code or qualifier outside the vocabulary, naming it
        return labels
    if message.get(INTENT) in NO_FACTS_INTENTS:
        return {"affected": []}
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FactsExtractor(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Inverse regularisation strength of every logistic regression (chosen on evaluation/dev with
            # evaluation.facts_dev: 3 beat 1 and 10 on emergencies implied by the facts).
            "C": 3.0,
            # Scale of the embedding against the 0/1 cues: its 384 values are small (unit length).
            "dense_weight": 5.0,
            "cue_weight": 1.0,
            # Confidence above which an affected code is held.
            "threshold": 0.5,
            "max_iter": 2000,
            # Not a setting: the cues' fingerprint, so Rasa's training cache never reuses a model trained on
            # other cues (see fact_cues.fingerprint).
            "cues": fact_cues.fingerprint(),
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[FactsModel] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> FactsExtractor:
        return cls(config, model_storage, resource)

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    def _rows(self, messages: List[Message]) -> np.ndarray:
        vectors = []
        for message in messages:
            dense = message.get_dense_features(attribute=TEXT)[1]
            if dense is None:
                raise ValueError("FactsExtractor needs a sentence embedding: put the MiniLM featurizer before it")
            vectors.append(np.asarray(dense.features, dtype=np.float32).reshape(-1))
        return features(np.stack(vectors), [m.get(TEXT) for m in messages], float(self._config["dense_weight"]),
                        float(self._config["cue_weight"]))

    def train(self, training_data: TrainingData) -> Resource:
        examples, labels = [], []
        for message in training_data.intent_examples:
            found = fact_labels(message) if message.get(TEXT) else None
            if found is not None:
                examples.append(message)
                labels.append(found)
        if not any(lab.get("affected") for lab in labels):
            logger.warning("FactsExtractor: no fact-labelled examples in the training data; not trained.")
            return self._resource
        self._model = FactsModel.fit(self._rows(examples), labels, c=float(self._config["C"]),
                                     max_iter=int(self._config["max_iter"]),
                                     threshold=float(self._config["threshold"]))
        self._persist()
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        texts = [m for m in messages if m.get(TEXT) and not m.get(TEXT).startswith("/")]
        chosen = {id(m) for m in texts}
        for message in messages:
            if id(message) not in chosen:
                # A button payload or an empty turn reports nothing.
                message.set(OUTPUT, Facts().to_json(), add_to_output=True)
        if texts:
            predicted = self._model.predict(self._rows(texts), [m.get(TEXT) for m in texts])
            for message, facts in zip(texts, predicted, strict=True):
                message.set(OUTPUT, facts.to_json(), add_to_output=True)
        return messages

    def _persist(self) -> None:
        assert self._model is not None
        arrays, meta = self._model.state()
        meta["cues"] = fact_cues.fingerprint()
        with self._model_storage.write_to(self._resource) as directory:
            # NumPy 2's stubs (the lint's environment) read ** as maybe their allow_pickle flag, which Rasa's NumPy
            # 1.23 does not have: passing it would store an array named allow_pickle. The arrays are plain.
            np.savez(directory / ARRAYS, **arrays)  # type: ignore[arg-type]
            (directory / META).write_text(json.dumps(meta))

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> FactsExtractor:
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / META).read_text())
                # Plain arrays only: allow_pickle=False means loading runs nothing stored in the file.
                with np.load(directory / ARRAYS, allow_pickle=False) as stored:
                    model: Optional[FactsModel] = FactsModel.from_state(dict(stored), meta)
            if meta.get("cues") != fact_cues.fingerprint():
                raise ValueError("the saved facts model was trained on other cues")
        except (ValueError, FileNotFoundError):
            logger.warning("FactsExtractor: no trained model found; no facts will be extracted.")
            model = None
        return cls(config, model_storage, resource, model)
