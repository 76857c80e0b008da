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

It reads the sentence embedding the MiniLM featurizer put on the message, beside the message's word and
character (2-4, within words) counts, which it counts itself. Rasa's CountVectorsFeaturizers used to count
them for it, but this was their only reader, and they also built per-token sparse matrices nobody read, in
every parse and over every training example (bench/parse_profile.py measured them at about 2-4 ms of a parse);
its own two scikit-learn vectorizers give the same sentence counts for a fraction of that.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import METADATA, METADATA_EXAMPLE, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from rasa_components.intent_only import teaches_intent_only

logger = logging.getLogger(__name__)

NONE = "none"
OUTPUT = "emergency"
VOCABULARIES = "vocabularies.json"
# Word tokens as Rasa's CountVectorsFeaturizer counted them (two or more word characters, lower-cased).
WORD_PATTERN = r"(?u)\b\w\w+\b"


def _counters(words: Optional[Dict[str, int]] = None,
              chars: Optional[Dict[str, int]] = None) -> Tuple[CountVectorizer, CountVectorizer]:
    """The word and character-n-gram counters, with a fixed vocabulary when one is given (a loaded model)."""
    return (CountVectorizer(lowercase=True, token_pattern=WORD_PATTERN, vocabulary=words),
            CountVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 4), vocabulary=chars))


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


def _intent_only(message: Message) -> bool:
    metadata = message.get(METADATA) or {}
    return isinstance(metadata, dict) and teaches_intent_only(metadata.get(METADATA_INTENT))


def training_examples(training_data: TrainingData) -> List[Message]:
    """The examples this classifier learns from: neither fact-labelled nor intent-only (neither carries an
    emergency kind: counted, they would be taught as "none")."""
    return [m for m in training_data.intent_examples
            if m.get(TEXT) and not _has_fact_labels(m) and not _intent_only(m)]


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
                 clf: Optional[LogisticRegression] = None,
                 counters: Optional[Tuple[CountVectorizer, CountVectorizer]] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._clf = clf
        self._counters = counters

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EmergencyClassifier:
        return cls(config, model_storage, resource)

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    def _features(self, messages: List[Message]) -> csr_matrix:
        """One row per message: word counts, character-n-gram counts, then the weighted sentence embedding."""
        assert self._counters is not None
        texts = [str(m.get(TEXT)) for m in messages]
        vectors = []
        for message in messages:
            dense = message.get_dense_features(attribute=TEXT)[1]
            if dense is None:
                raise ValueError("EmergencyClassifier needs a sentence embedding: put the MiniLM featurizer before it")
            vectors.append(np.asarray(dense.features, dtype=np.float64).reshape(-1))
        words, chars = self._counters
        embedding = csr_matrix(np.stack(vectors) * float(self._config["dense_weight"]))
        return hstack([words.transform(texts), chars.transform(texts), embedding]).tocsr()

    def _probabilities(self, messages: List[Message]) -> np.ndarray:
        """What the classifier's predict_proba gives for these messages, from its weights directly. A message has
        a few dozen of the thousands of count columns, so adding up the weight columns of the words and n-grams it
        has costs a fraction of building and validating the sparse matrix scikit-learn would multiply (1.5 of
        the 2 ms this component took of a parse)."""
        assert self._clf is not None and self._counters is not None
        words, chars = self._counters
        coef, intercept = self._clf.coef_, self._clf.intercept_
        word_columns, char_columns = _vocabulary(words), _vocabulary(chars)
        dense_start = len(word_columns) + len(char_columns)
        analyse_words, analyse_chars = words.build_analyzer(), chars.build_analyzer()
        scores = np.empty((len(messages), coef.shape[0]))
        for row, message in enumerate(messages):
            text = str(message.get(TEXT))
            columns = [word_columns[t] for t in analyse_words(text) if t in word_columns]
            columns += [len(word_columns) + char_columns[g] for g in analyse_chars(text)
                        if g in char_columns]
            dense = message.get_dense_features(attribute=TEXT)[1]
            if dense is None:
                raise ValueError("EmergencyClassifier needs a sentence embedding: put the MiniLM featurizer before it")
            vector = np.asarray(dense.features, dtype=np.float64).reshape(-1) * float(self._config["dense_weight"])
            scores[row] = intercept + coef[:, columns].sum(axis=1) + coef[:, dense_start:] @ vector
        if coef.shape[0] == 1:
            # Two classes: scikit-learn's one logistic score, the probability of the second class.
            second = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - second, second], axis=1)
        # More: the multinomial model's softmax (scikit-learn's lbfgs default).
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def train(self, training_data: TrainingData) -> Resource:
        # The fact-labelled reports (nlu/facts_*.yml) carry no emergency kind: counted here they would teach
        # that a burst pipe is "none", so this classifier leaves them to the fact extractor.
        examples = training_examples(training_data)
        labels = [emergency_label(m) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("EmergencyClassifier: no labelled emergencies in the training data; not trained.")
            return self._resource
        texts = [str(m.get(TEXT)) for m in examples]
        words, chars = _counters()
        words.fit(texts)
        chars.fit(texts)
        self._counters = (words, chars)
        clf = LogisticRegression(C=float(self._config["C"]), class_weight="balanced",
                                 max_iter=int(self._config["max_iter"]))
        clf.fit(self._features(examples), labels)
        self._clf = clf
        self._persist()
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self._clf is None or self._counters is None:
            return messages
        texts = [m for m in messages if m.get(TEXT)]
        if not texts:
            return messages
        probabilities = self._probabilities(texts)
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

        assert self._counters is not None
        words, chars = self._counters
        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self._clf, directory / "emergency.skops")
            # The vocabularies as plain JSON (term -> column): loading them runs nothing from the file.
            vocabularies = {"words": _plain(words.vocabulary_), "chars": _plain(chars.vocabulary_)}
            (directory / VOCABULARIES).write_text(json.dumps(vocabularies))

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
                vocabularies = json.loads((directory / VOCABULARIES).read_text())
                counters: Optional[Tuple[CountVectorizer, CountVectorizer]] = _counters(
                    dict(vocabularies["words"]), dict(vocabularies["chars"]))
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("EmergencyClassifier: no trained model found; the learned signal is off.")
            clf, counters = None, None
        return cls(config, model_storage, resource, clf, counters)


def _vocabulary(counter: CountVectorizer) -> Dict[str, int]:
    # A fitted counter has vocabulary_; a loaded one is given its vocabulary and fits nothing.
    return getattr(counter, "vocabulary_", None) or counter.vocabulary


def _plain(vocabulary: Dict[str, Any]) -> Dict[str, int]:
    # scikit-learn's vocabulary_ holds NumPy integers, which json cannot write.
    return {str(term): int(column) for term, column in vocabulary.items()}
