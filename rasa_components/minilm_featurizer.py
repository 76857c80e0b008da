"""A Rasa dense featurizer that adds an all-MiniLM-L6-v2 sentence embedding to every message.

The embedding carries meaning that word counts miss ("the boiler's packed up" and "no heating"
are far apart as words and close as meaning), which is what category accuracy on messages we
have never seen depends on. Only sentence-level features are added, read by the intent, emergency, facts and
dissatisfaction components (each adds its own word cues). The encoder itself is the shared one
(packages/repairs_encoder: onnxruntime, its graph built by `make encoder` or the image build).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from repairs_encoder.encoder import SentenceEncoder, shared_encoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a 384-dimensional sentence embedding to the text of each message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # model_dir: other weights (a fine-tuned encoder), default the pinned all-MiniLM-L6-v2; cache_dir: where
        # `make encoder` put their graph, default beside the encoder package (repairs_encoder.model_files);
        # precision: "fp32" or "int8", default repairs_encoder's DEFAULT_PRECISION (the two give slightly different
        # vectors: a model must be served with the graph it was trained on, which the training fingerprint ensures
        # here by covering packages/repairs_encoder).
        return {**DenseFeaturizer.get_default_config(), "model_dir": None, "cache_dir": None, "precision": None}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["tokenizers", "onnxruntime", "repairs_encoder"]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, execution_context.node_name)

    def _encoder(self) -> SentenceEncoder:
        # One loaded encoder per process, set of weights and precision, however many graph nodes use it.
        model_dir, cache_dir = (Path(value) if value else None
                                for value in (self._config.get("model_dir"), self._config.get("cache_dir")))
        return shared_encoder(model_dir, cache_dir, self._config.get("precision"))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Training encodes every example: batch them (far faster than one at a time).
        examples = [m for m in training_data.training_examples if m.get(TEXT)]
        vectors = self._encoder().encode([m.get(TEXT) for m in examples])
        for message, vector in zip(examples, vectors, strict=True):
            self._add(message, vector)
        return training_data

    def _add(self, message: Message, vector: np.ndarray) -> None:
        message.add_features(
            Features(np.expand_dims(vector, 0), FEATURE_TYPE_SENTENCE, TEXT, self._config[FEATURIZER_CLASS_ALIAS])
        )

    def process(self, messages: List[Message]) -> List[Message]:
        encoder = self._encoder()
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            if text.startswith("/"):
                # A button payload ("/affirm"): Rasa takes its intent from the payload itself, so encoding it
                # would spend a few ms for nothing. The classifiers still need a vector of the right size.
                self._add(message, np.zeros(encoder.dim, dtype=np.float32))
                continue
            self._add(message, encoder.encode([text])[0])
        return messages

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass
