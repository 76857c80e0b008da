"""Score texts for dissatisfaction: what the listening page calls on stored (redacted) utterances.

    from repairs_dissatisfaction.scoring import dissatisfaction_score, dissatisfaction_threshold
    scores = dissatisfaction_score(texts)            # one probability in [0, 1] per text
    flagged = [s >= dissatisfaction_threshold() for s in scores]

The encoder and the model are loaded on the first call and kept for the process (a read-only cache: another
replica loads its own and gets the same numbers). Callers that already hold a SentenceEncoder, or embeddings
(the assistant's Rasa pipeline has the message's embedding already), pass it in instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from repairs_dissatisfaction.model import DissatisfactionModel, load_model


@lru_cache(maxsize=1)
def default_model() -> DissatisfactionModel:
    return load_model()


@lru_cache(maxsize=1)
def _default_encoder() -> Any:
    # Imported here: onnxruntime and the graph are needed only when texts (not embeddings) are scored.
    from repairs_encoder.encoder import SentenceEncoder

    return SentenceEncoder()


def dissatisfaction_threshold() -> float:
    """The score at or above which a message counts as an expression of dissatisfaction."""
    return default_model().threshold


def dissatisfaction_score(texts: Sequence[str], *, encoder: Any = None,
                          model: DissatisfactionModel | None = None) -> list[float]:
    """P(the text expresses dissatisfaction with the council), one per text, in order. Empty texts score 0.
    `encoder`: anything with `encode(texts) -> [n, dim] array` (a repairs_encoder SentenceEncoder)."""
    if isinstance(texts, str):
        raise TypeError("dissatisfaction_score takes a sequence of texts, not one string")
    if not texts:
        return []
    model = model or default_model()
    texts = [t or "" for t in texts]
    vectors = (encoder or _default_encoder()).encode(texts)
    scores = model.probabilities(vectors, texts)
    return [float(s) if text and text.strip() else 0.0 for s, text in zip(scores, texts, strict=True)]


def is_dissatisfied(texts: Sequence[str], **kwargs: Any) -> list[bool]:
    threshold = (kwargs.get("model") or default_model()).threshold
    return [s >= threshold for s in dissatisfaction_score(texts, **kwargs)]
