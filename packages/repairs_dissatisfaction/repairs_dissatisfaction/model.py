"""The learned dissatisfaction classifier: a logistic regression over two views of a message.

- Its meaning: the shared sentence encoder's embedding (all-MiniLM-L6-v2, unit length). Alone it reads topic
  better than feeling: "the plumber came but the leak is worse" sat beside neutral plumbing reports, and in
  cross-validation on the training set it reached recall 0.85 at precision 0.84.
- Its wording: which character n-grams (2 to 4 characters, within words, padded by spaces) it has, each
  weighted by its inverse document frequency in the training set, the vector scaled to unit length like the
  embedding. "again", "still", "nobody", "fed up", "disgrace" and their misspellings carry what the embedding
  blurs; together the two views did better than either (training.py prints the comparison).

The weights are data (model.json, written by training.py from data/training.yml), read with the standard
library and applied with NumPy, so both Python environments score with the same numbers and neither needs
scikit-learn to do it. The wording term is summed over the message's n-grams rather than built as a matrix, so
scoring 100,000 stored messages needs no more memory than their embeddings. model.json also records which
encoder weights it was trained over (`encoder_key`, see repairs_encoder.model_files.weights_key): an embedding
from other weights means nothing to these coefficients.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "model.json"
FORMAT = 2
NGRAM_SIZES = (2, 3, 4)
_SPACES = re.compile(r"\s+")


def char_ngrams(text: str) -> set[str]:
    """The distinct character n-grams of each word, lower-cased, the word padded with a space each side (so
    " nob" marks a word that starts "nob"). A word shorter than n gives itself once."""
    grams: set[str] = set()
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in NGRAM_SIZES:
            if len(padded) <= n:
                grams.add(padded)
                break
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


@dataclass(frozen=True)
class DissatisfactionModel:
    coef: np.ndarray  # (dim,) float32, over L2-normalised sentence embeddings
    intercept: float
    # Probability at or above which a message counts as dissatisfied (chosen by cross-validation: training.py).
    threshold: float
    encoder_key: str
    training_sha256: str
    c: float = 1.0  # the regularisation it was trained with (for cross-validating the same choice again)
    # The wording view: n-gram -> (idf, coefficient); its unit-length vector is multiplied by word_weight.
    ngrams: dict[str, tuple[float, float]] = field(default_factory=dict)
    word_weight: float = 0.0
    # How many training messages an n-gram had to appear in to be kept (for cross-validating the same choice).
    min_df: int = 1
    # How far a long message's score moves from the whole's towards its most dissatisfied sentence's (in log-odds;
    # 0 scores the whole only, 1 takes the sentence's): see `combine`, chosen by cross-validation in training.py.
    sentence_weight: float = 0.0
    # Sentences are consulted only for a message whose whole scores within this many log-odds of the threshold
    # (None: always). Farther out they never changed a decision on our data, and encoding them is the one cost
    # here that grows with the message (training.py measures both).
    sentence_band: float | None = None

    @property
    def dim(self) -> int:
        return int(self.coef.shape[0])

    def wording(self, texts: Iterable[str]) -> np.ndarray:
        """Each text's wording term: its unit-length idf-weighted n-gram vector dotted with the coefficients."""
        out = []
        for text in texts:
            known = [self.ngrams[g] for g in char_ngrams(text or "") if g in self.ngrams]
            norm = math.sqrt(sum(idf * idf for idf, _ in known))
            out.append(sum(idf * weight for idf, weight in known) / norm if norm else 0.0)
        return np.asarray(out, dtype=np.float64) * self.word_weight

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """P(dissatisfied) for each text, given its sentence embedding (a row of `vectors`, [n, dim])."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected sentence embeddings of shape [n, {self.dim}], got {vectors.shape}")
        if len(texts) != vectors.shape[0]:
            raise ValueError(f"{len(texts)} texts for {vectors.shape[0]} embeddings")
        logits = vectors.astype(np.float64) @ self.coef.astype(np.float64) + self.wording(texts) + self.intercept
        # exp of a large negative logit overflows harmlessly to inf, giving 0.0: what it should be.
        with np.errstate(over="ignore"):
            return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def combine(self, whole: float, parts: Sequence[float]) -> float:
        """A long message's score from the whole's and its sentences' (sentences.py): in log-odds, the whole's
        moved `sentence_weight` of the way towards the highest sentence's. One sentence of grievance inside a
        long report lifts the whole, which its neutral sentences had pulled down; and a rant whose sentences,
        read alone, are about the fault and not the handling comes down from what its heat gave the whole."""
        if not parts or not self.consults_sentences(whole):
            return whole
        top = max(parts)
        logit = _logit(whole) + self.sentence_weight * (_logit(top) - _logit(whole))
        return 1.0 / (1.0 + math.exp(-logit))

    def consults_sentences(self, whole: float) -> bool:
        """Whether a long message whose whole scores `whole` is scored by its sentences too (see sentence_band)."""
        if not self.sentence_weight:
            return False
        return self.sentence_band is None or abs(_logit(whole) - _logit(self.threshold)) <= self.sentence_band

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT,
            "kind": "logistic regression over the sentence embedding and idf-weighted character 2-4-grams",
            "threshold": round(float(self.threshold), 4), "C": self.c, "intercept": float(self.intercept),
            "encoder_key": self.encoder_key, "training_sha256": self.training_sha256,
            "word_weight": self.word_weight, "min_df": self.min_df, "sentence_weight": self.sentence_weight,
            "sentence_band": self.sentence_band,
            "coef": [round(float(c), 6) for c in self.coef],
            "ngrams": {g: [round(idf, 6), round(w, 6)] for g, (idf, w) in sorted(self.ngrams.items())},
        }, indent=0, ensure_ascii=False) + "\n"


def load_model(path: Path | None = None) -> DissatisfactionModel:
    """The committed model (or the one at `path`). A missing or malformed file is an error that says what to do."""
    path = Path(path or MODEL_PATH)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no dissatisfaction model at {path}: train one with "
                                "`python -m repairs_dissatisfaction.training --write`") from exc
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: model format {data.get('format')!r}, expected {FORMAT}; retrain it")
    return DissatisfactionModel(
        coef=np.asarray(data["coef"], dtype=np.float32), intercept=float(data["intercept"]),
        threshold=float(data["threshold"]), encoder_key=str(data["encoder_key"]),
        training_sha256=str(data["training_sha256"]), c=float(data.get("C", 1.0)),
        ngrams={str(g): (float(v[0]), float(v[1])) for g, v in data.get("ngrams", {}).items()},
        word_weight=float(data.get("word_weight", 0.0)), min_df=int(data.get("min_df", 1)),
        sentence_weight=float(data.get("sentence_weight", 0.0)),
        sentence_band=None if data.get("sentence_band") is None else float(data["sentence_band"]))


def _logit(p: float) -> float:
    # Clipped: a probability of exactly 0 or 1 (an overflowed logistic) would give an infinite log-odds.
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
