"""Score texts for dissatisfaction: what the listening page calls on stored (redacted) utterances.

    from repairs_dissatisfaction.scoring import dissatisfaction_score, dissatisfaction_threshold
    scores = dissatisfaction_score(texts)            # one probability in [0, 1] per text
    flagged = [s >= dissatisfaction_threshold() for s in scores]

The encoder and the model are loaded on the first call and kept for the process (a read-only cache: another
replica loads its own and gets the same numbers). Callers that already hold a SentenceEncoder pass it in instead.
Callers that hold the messages' embeddings already (the assistant's Rasa pipeline, the listening page's
embedding job) call `score_embedded`, which encodes only the sentences of the long messages: every caller
scores a message by the same rule, the whole and its sentences combined (sentences.py, model.combine).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from repairs_dissatisfaction.model import DissatisfactionModel, load_model
from repairs_dissatisfaction.sentences import sentences


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
    texts = [t or "" for t in texts]
    encoder = encoder or _default_encoder()
    return score_embedded(encoder.encode(texts), texts, encoder=encoder, model=model)


def score_embedded(vectors: np.ndarray, texts: Sequence[str], *, encoder: Any,
                   model: DissatisfactionModel | None = None) -> list[float]:
    """Like `dissatisfaction_score`, for texts whose embeddings (`vectors`, [n, dim]) the caller has: only the
    sentences of long messages whose whole is near the threshold (model.consults_sentences) are encoded, all in
    one call."""
    model = model or default_model()
    texts = [t or "" for t in texts]
    whole = model.probabilities(vectors, texts)
    split = [sentences(t) if model.consults_sentences(float(w)) else [] for t, w in zip(texts, whole, strict=True)]
    pieces = [p for parts in split for p in parts]
    piece_scores = iter(model.probabilities(encoder.encode(pieces), pieces).tolist() if pieces else [])
    scores = []
    for score, text, parts in zip(whole.tolist(), texts, split, strict=True):
        combined = model.combine(score, [next(piece_scores) for _ in parts])
        scores.append(float(combined) if text.strip() else 0.0)
    return scores


def is_dissatisfied(texts: Sequence[str], **kwargs: Any) -> list[bool]:
    threshold = (kwargs.get("model") or default_model()).threshold
    return [s >= threshold for s in dissatisfaction_score(texts, **kwargs)]
