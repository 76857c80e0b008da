"""Learn model.json from the labelled messages in data/training.yml, and say how well it does by
cross-validation: `python -m repairs_dissatisfaction.training [--write]` (in the Rasa environment, which
has scikit-learn; the application environment scores without it).

The choices (the wording view's weight, how many messages an n-gram must appear in to be kept, regularisation C,
how far a long message's sentences move its score (model.combine), the threshold) are made here on our own data:
by stratified k-fold cross-validation on the training set (each message, and each of its sentences, scored by a
model that never saw it) and on the tuning sets, never trained on: the development set (data/dev.yml, written
apart) and the retired blind set evaluation/sets/dissatisfaction-2026-12 (its false alarms were studied after its
blind run, so it may be tuned on; read only when the repository is there). The threshold is the highest at which
recall reaches `--min-recall` both cross-validated and on the tuning sets pooled (dev, with 28 dissatisfied
messages, is too small to decide alone): under the Complaint Handling Code a missed expression of dissatisfaction
is a complaint nobody logged, while a needless offer costs the resident one "no". They disagree in a telling way:
the training set is full of look-alikes written to be hard (anger at a neighbour, sincere thanks beside sarcastic
thanks), so its out-of-fold precision is the pessimistic figure, while new words score lower than
cross-validation suggests.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repairs_dissatisfaction.model import MODEL_PATH, DissatisfactionModel, char_ngrams
from repairs_dissatisfaction.sentences import sentences

TRAINING_PATH = Path(__file__).resolve().parent.parent / "data" / "training.yml"
DEV_PATH = TRAINING_PATH.parent / "dev.yml"
LABELS = {"dissatisfied": True, "not_dissatisfied": False}
RETIRED_PATH = TRAINING_PATH.parents[3] / "evaluation" / "sets" / "dissatisfaction-2026-12" / "messages.yml"
# C=30 and a wording weight of 0.5 were tried on this set (December 2026) and never won; nor did C=10, the
# embedding alone (wording weight 0: retired-set precision 0.77 to 0.86 against 0.92) or keeping only n-grams
# seen in two messages (an n-gram seen once can only memorise its message's words: it changed nothing). All left
# out to keep a run short now that each one also weighs the sentences.
C_CANDIDATES = (1.0, 3.0)
# The wording view's length against the embedding's 1.0.
WORD_WEIGHTS = (1.0, 1.5)
MIN_DOCUMENT_FREQUENCIES = (1,)
# How far a long message's score moves towards its most dissatisfied sentence's (model.combine): 0 is the whole
# alone, the December 2026 model. Free to choose after the fit: the sentences are scored by the same model.
SENTENCE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# Consult the sentences only when the whole scores within this many log-odds of the threshold (model.py,
# sentence_band). Measured December 2026 on the training and tuning sets: every decision the sentences changed had
# its whole within 0.66 of the threshold, and a band of 1.0 consults a quarter of the long messages. main() checks
# that the band changes no decision on the cross-validated and tuning scores before it writes the model.
SENTENCE_BAND = 1.0


@dataclass(frozen=True)
class Example:
    text: str
    dissatisfied: bool
    group: str


def training_sha256(path: Path = TRAINING_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_examples(path: Path = TRAINING_PATH) -> list[Example]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != set(LABELS):
        raise ValueError(f"{path}: expected the top-level keys {sorted(LABELS)}")
    examples = []
    for label, groups in data.items():
        for group, texts in (groups or {}).items():
            for text in texts or []:
                if not isinstance(text, str) or not text.strip():
                    raise ValueError(f"{path}: {label}/{group} has an empty or non-text message: {text!r}")
                examples.append(Example(text.strip(), LABELS[label], str(group)))
    return examples


class Wording:
    """The wording view learned from some texts: their character n-grams and each one's smoothed idf."""

    def __init__(self, texts: Sequence[str], min_df: int = 1) -> None:
        grams = [char_ngrams(t) for t in texts]
        document_frequency: dict[str, int] = {}
        for found in grams:
            for gram in found:
                document_frequency[gram] = document_frequency.get(gram, 0) + 1
        self.vocabulary = sorted(g for g, count in document_frequency.items() if count >= min_df)
        self.column = {g: i for i, g in enumerate(self.vocabulary)}
        n = len(texts)
        self.idf = np.array([np.log((1 + n) / (1 + document_frequency[g])) + 1 for g in self.vocabulary])

    def matrix(self, texts: Sequence[str], weight: float) -> Any:
        """Unit-length idf-weighted n-gram rows times `weight` (what model.wording computes, as a matrix)."""
        from scipy.sparse import csr_matrix

        rows, cols, values = [], [], []
        for row, text in enumerate(texts):
            columns = sorted(self.column[g] for g in char_ngrams(text) if g in self.column)
            norm = float(np.sqrt(sum(self.idf[c] ** 2 for c in columns))) or 1.0
            rows += [row] * len(columns)
            cols += columns
            values += [weight * self.idf[c] / norm for c in columns]
        return csr_matrix((values, (rows, cols)), shape=(len(texts), len(self.vocabulary)))


@dataclass(frozen=True)
class Pieces:
    """The sentences of some messages (sentences.py), encoded once: `owner[i]` is the message piece i is from."""

    owner: np.ndarray
    texts: list[str]
    vectors: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str], encoder: Any) -> Pieces:
        split = [sentences(t) for t in texts]
        owner = np.array([i for i, parts in enumerate(split) for _ in parts], dtype=np.int64)
        pieces = [p for parts in split for p in parts]
        return cls(owner, pieces, encoder.encode(pieces))

    def combined(self, model: DissatisfactionModel, whole: np.ndarray, piece_scores: np.ndarray) -> np.ndarray:
        """Each message's score by the model's rule (model.combine), from its whole's and its pieces' scores."""
        parts: dict[int, list[float]] = {}
        for owner, score in zip(self.owner.tolist(), piece_scores.tolist(), strict=True):
            parts.setdefault(owner, []).append(score)
        return np.array([model.combine(float(w), parts.get(i, [])) for i, w in enumerate(whole)])


def load_dev(path: Path = DEV_PATH) -> tuple[list[str], np.ndarray]:
    import yaml

    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(i["text"]) for i in items], np.array([bool(i["dissatisfied"]) for i in items])


def tuning_sets() -> list[tuple[str, Path]]:
    """The labelled sets the threshold and the settings are tuned on besides cross-validation: ours, and the
    retired blind set when the repository (not just the installed package) is there."""
    sets = [("dev", DEV_PATH)]
    if RETIRED_PATH.exists():
        sets.append(("retired dissatisfaction-2026-12", RETIRED_PATH))
    return sets


def f1(recall: float, precision: float) -> float:
    return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def _features(vectors: np.ndarray, texts: Sequence[str], wording: Wording, weight: float) -> Any:
    from scipy.sparse import csr_matrix, hstack

    return hstack([csr_matrix(vectors), wording.matrix(texts, weight)]).tocsr() if weight else vectors


def _fit(features: Any, labels: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    # Balanced: the two labels are near even here, and stay weighted so if the set's balance drifts.
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(features, labels)


def out_of_fold_parts(vectors: np.ndarray, texts: Sequence[str], labels: np.ndarray, c: float, weight: float,
                      folds: int, seed: int = 0, min_df: int = 1,
                      pieces: Pieces | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each example's P(dissatisfied) from a model trained on the other folds (the wording view learned from
    those folds too), and each of its pieces' (sentences) from the same model."""
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(len(labels))
    piece_scores = np.zeros(len(pieces.texts) if pieces else 0)
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(vectors, labels):
        wording = Wording([texts[i] for i in train], min_df)
        clf = _fit(_features(vectors[train], [texts[i] for i in train], wording, weight), labels[train], c)
        scores[test] = clf.predict_proba(_features(vectors[test], [texts[i] for i in test], wording, weight))[:, 1]
        if pieces and len(pieces.texts):
            held = np.flatnonzero(np.isin(pieces.owner, test))
            if len(held):
                piece_scores[held] = clf.predict_proba(_features(
                    pieces.vectors[held], [pieces.texts[i] for i in held], wording, weight))[:, 1]
    return scores, piece_scores


def out_of_fold(vectors: np.ndarray, texts: Sequence[str], labels: np.ndarray, c: float, weight: float,
                folds: int, seed: int = 0, min_df: int = 1, pieces: Pieces | None = None,
                rule: DissatisfactionModel | None = None) -> np.ndarray:
    """Each example's cross-validated score, combined with its pieces' by `rule`'s combine (its sentence weight
    and band: the committed model's, say) when pieces are given; the whole's alone otherwise."""
    whole, piece_scores = out_of_fold_parts(vectors, texts, labels, c, weight, folds, seed, min_df, pieces)
    return pieces.combined(rule, whole, piece_scores) if pieces and rule else whole


def recall_precision(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    predicted = scores >= threshold
    true_pos = int((predicted & labels).sum())
    recall = true_pos / max(int(labels.sum()), 1)
    precision = true_pos / max(int(predicted.sum()), 1)
    return recall, precision


def choose_threshold(scores: np.ndarray, labels: np.ndarray, min_recall: float) -> float:
    """The highest threshold whose recall is at least `min_recall` (capped at 0.5 from above: never demand
    more than an even chance before offering)."""
    best = 0.05
    for threshold in np.arange(0.05, 0.501, 0.01):
        if recall_precision(scores, labels, float(threshold))[0] >= min_recall:
            best = float(threshold)
    return round(best, 2)


def train(examples: Sequence[Example], vectors: np.ndarray, *, c: float, weight: float, threshold: float,
          encoder_key: str, sha256: str, min_df: int = 1, sentence_weight: float = 0.0,
          sentence_band: float | None = None) -> DissatisfactionModel:
    texts = [e.text for e in examples]
    labels = np.array([e.dissatisfied for e in examples])
    wording = Wording(texts, min_df)
    clf = _fit(_features(vectors, texts, wording, weight), labels, c)
    coef = clf.coef_[0]
    dim = vectors.shape[1]
    ngrams = {g: (float(wording.idf[i]), float(coef[dim + i])) for i, g in enumerate(wording.vocabulary)} \
        if weight else {}
    model = DissatisfactionModel(coef=coef[:dim].astype(np.float32), intercept=float(clf.intercept_[0]),
                                 threshold=threshold, encoder_key=encoder_key, training_sha256=sha256, c=c,
                                 ngrams=ngrams, word_weight=weight, min_df=min_df, sentence_weight=sentence_weight,
                                 sentence_band=sentence_band)
    # The scorer (NumPy, no scikit-learn) must give what the fitted estimator gives, or the file is wrong.
    fitted = clf.predict_proba(_features(vectors, texts, wording, weight))[:, 1]
    scored = model.probabilities(vectors, texts)
    if not np.allclose(fitted, scored, atol=1e-4):
        raise AssertionError(f"model.json scores differ from the estimator's by {np.abs(fitted - scored).max()}")
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="cross-validation repeated with other shuffles")
    parser.add_argument("--min-recall", type=float, default=0.92)
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    args = parser.parse_args(argv)

    from repairs_encoder.encoder import SentenceEncoder
    from repairs_encoder.model_files import default_model_dir, weights_key

    examples = load_examples()
    texts = [e.text for e in examples]
    encoder = SentenceEncoder(threads=2)
    vectors = encoder.encode(texts)
    pieces = Pieces.of(texts, encoder)
    labels = np.array([e.dissatisfied for e in examples])
    print(f"{len(examples)} examples, {int(labels.sum())} dissatisfied, {len(set(pieces.owner.tolist()))} long "
          f"enough to be scored by sentence too; {args.folds}-fold CV x {args.repeats}")
    tuning = [(name, *load_dev(path)) for name, path in tuning_sets()]
    tuning_vectors = [encoder.encode(texts_) for _, texts_, _ in tuning]
    tuning_pieces = [Pieces.of(texts_, encoder) for _, texts_, _ in tuning]
    print("tuning sets: " + ", ".join(f"{name} ({len(texts_)})" for name, texts_, _ in tuning))
    key, sha256 = weights_key(default_model_dir()), training_sha256()
    results = []
    for weight in WORD_WEIGHTS:
        for min_df in MIN_DOCUMENT_FREQUENCIES if weight else (1,):
            for c in C_CANDIDATES:
                runs = [out_of_fold_parts(vectors, texts, labels, c, weight, args.folds, seed, min_df, pieces)
                        for seed in range(args.repeats)]
                model = train(examples, vectors, c=c, weight=weight, threshold=0.5, encoder_key=key,
                              sha256=sha256, min_df=min_df)
                tuned = [(model.probabilities(v, texts_), model.probabilities(p.vectors, p.texts), labels_, p)
                         for v, p, (_, texts_, labels_) in zip(tuning_vectors, tuning_pieces, tuning, strict=True)]
                for sentence_weight in SENTENCE_WEIGHTS:
                    rule = DissatisfactionModel(coef=model.coef, intercept=model.intercept, threshold=0.5,
                                                encoder_key=key, training_sha256=sha256,
                                                sentence_weight=sentence_weight)
                    combined_runs = [pieces.combined(rule, whole, part) for whole, part in runs]
                    scored = [(np.concatenate(combined_runs), np.tile(labels, args.repeats))] + [
                        (p.combined(rule, whole, part), y) for whole, part, y, p in tuned]
                    # The tuning sets pooled: dev alone has 28 dissatisfied messages, so one of them moved its
                    # recall by 0.036 and decided the threshold for every set.
                    pooled = (np.concatenate([sc for sc, _ in scored[1:]]), np.concatenate([y for _, y in scored[1:]]))
                    threshold = min(choose_threshold(sc, y, args.min_recall) for sc, y in [scored[0], pooled])
                    figures = [recall_precision(sc, y, threshold) for sc, y in scored]
                    results.append((sum(f1(*f) for f in figures) / len(figures), c, weight, min_df, sentence_weight,
                                    threshold, combined_runs, runs))
                    print(f"wording x{weight} min_df {min_df} C={c:<4} sentences x{sentence_weight:<4} threshold "
                          f"{threshold:.2f}: " + " | ".join(
                              f"{name} recall {r:.3f} precision {p:.3f}" for name, (r, p) in zip(
                                  ["cross-validated"] + [t[0] for t in tuning], figures, strict=True)), flush=True)
    mean_f1, c, weight, min_df, sentence_weight, threshold, combined_runs, whole_runs = max(results,
                                                                                           key=lambda r: r[0])
    print(f"chosen: wording x{weight}, min_df {min_df}, C={c}, sentences x{sentence_weight}, threshold "
          f"{threshold:.2f} (mean F1 over cross-validation and the tuning sets {mean_f1:.3f})")
    for group in sorted({e.group for e in examples}):
        rows = np.array([e.group == group for e in examples])
        wrong = sum(int(((run >= threshold) != labels)[rows].sum()) for run in combined_runs)
        if wrong:
            print(f"    {group}: {wrong / args.repeats:.1f} of {int(rows.sum())} wrong")
    model = train(examples, vectors, c=c, weight=weight, threshold=threshold, encoder_key=key, sha256=sha256,
                  min_df=min_df, sentence_weight=sentence_weight, sentence_band=SENTENCE_BAND)
    unbanded = DissatisfactionModel(**{**model.__dict__, "sentence_band": None})
    # Out of fold for the training set (whole and sentences from the fold's model), the final model for the rest.
    checks = [(whole, part, pieces) for whole, part in whole_runs] + [
        (model.probabilities(v, texts_), model.probabilities(p.vectors, p.texts), p)
        for v, p, (_, texts_, _) in zip(tuning_vectors, tuning_pieces, tuning, strict=True)]
    changed = sum(int(((p.combined(model, whole, part) >= threshold)
                       != (p.combined(unbanded, whole, part) >= threshold)).sum()) for whole, part, p in checks)
    consulted = sum(sum(model.consults_sentences(float(whole[i])) for i in set(p.owner.tolist()))
                    for whole, _, p in checks)
    long_messages = sum(len(set(p.owner.tolist())) for _, _, p in checks)
    print(f"sentence band {SENTENCE_BAND}: consults {consulted} of {long_messages} long messages' sentences, "
          f"changes {changed} decisions against consulting all")
    if args.write:
        MODEL_PATH.write_text(model.to_json(), encoding="utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
