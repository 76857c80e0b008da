"""The learned part of the fact extractor: one linear classifier per affected code and per qualifier.

Each classifier reads the same row: the message's sentence embedding (all-MiniLM-L6-v2, computed once by the
pipeline's featurizer) beside the 0/1 word and clause cues of rasa_components.fact_cues. Logistic regression is
enough here and trains in seconds, which matters because the test suite trains the assistant.

Scikit-learn fits the classifiers; what is kept is only their weights, biases and class names (`state` /
`from_state`): plain arrays and strings, saved without pickle, so loading a model runs no code from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from repairs_common.facts import (
    AFFECTED_CODES,
    BOOLEAN_QUALIFIERS,
    QUALIFIERS,
    Facts,
    Qualifier,
)

from rasa_components import fact_cues

NOT_SAID = "null"
# A qualifier is only read for the codes it qualifies (evaluation/FACTS.md); the others apply to any report.
QUALIFIES: Dict[str, frozenset] = {
    "contained": frozenset({"water_leak", "water_ingress", "gas_appliance"}),
    "secure": frozenset({"insecure_entry"}),
    "extent": frozenset({"water_supply", "heating", "hot_water", "power", "lift"}),
    "only_toilet": frozenset({"toilet"}),
    "trapped": frozenset({"lift", "trapped_in_lift"}),
    "cannot_use_stairs": frozenset({"lift", "trapped_in_lift"}),
    "fixture": frozenset({"fall_from_height", "insecure_entry"}),
}
MIN_POSITIVES = 3  # fewer labelled examples than this and a classifier would only learn noise


def label_of(value: object) -> str:
    """A qualifier value as a class name: "true"/"false", a choice value, or "null" (not said)."""
    if value is None:
        return NOT_SAID
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def value_of(name: str, label: str) -> bool | str | None:
    if label == NOT_SAID:
        return None
    if name in BOOLEAN_QUALIFIERS:
        return label == "true"
    return label


@dataclass
class Linear:
    """A fitted logistic regression reduced to its weights: classes, coef (k or 1 rows), intercept."""

    classes: List[str]
    coef: np.ndarray
    intercept: np.ndarray

    def proba(self, x: np.ndarray) -> np.ndarray:
        scores = x @ self.coef.T + self.intercept
        if len(self.classes) == 2 and self.coef.shape[0] == 1:
            p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)


def _fit(x: np.ndarray, y: Sequence[str], c: float, balanced: bool, max_iter: int) -> Optional[Linear]:
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:
        return None
    clf = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=max_iter)
    clf.fit(x, list(y))
    return Linear([str(k) for k in clf.classes_], clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32))


def features(embeddings: np.ndarray, texts: Sequence[str], dense_weight: float, cue_weight: float) -> np.ndarray:
    """One row per message: the weighted embedding, then the weighted cues."""
    cues = np.array([fact_cues.cue_vector(t) for t in texts], dtype=np.float32).reshape(len(texts), -1)
    return np.hstack([np.asarray(embeddings, dtype=np.float32) * dense_weight, cues * cue_weight])


@dataclass
class FactsModel:
    codes: Dict[str, Linear]
    qualifiers: Dict[str, Linear]
    threshold: float = 0.5

    @classmethod
    def fit(cls, x: np.ndarray, labels: Sequence[Mapping[str, Any]], *, c: float = 1.0, max_iter: int = 2000,
            threshold: float = 0.5) -> FactsModel:
        codes: Dict[str, Linear] = {}
        for code in sorted(AFFECTED_CODES):
            y = ["1" if code in (lab.get("affected") or []) else "0" for lab in labels]
            if y.count("1") >= MIN_POSITIVES:
                fitted = _fit(x, y, c, True, max_iter)
                if fitted is not None:
                    codes[code] = fitted
        qualifiers: Dict[str, Linear] = {}
        for name in QUALIFIERS:
            y = [label_of(lab.get(name)) for lab in labels]
            said = [v for v in y if v != NOT_SAID]
            if len(said) >= MIN_POSITIVES:
                fitted = _fit(x, y, c, False, max_iter)
                if fitted is not None:
                    qualifiers[name] = fitted
        return cls(codes, qualifiers, threshold)

    def predict(self, x: np.ndarray, texts: Sequence[str], use_decisive: bool = True) -> List[Facts]:
        code_p = {code: lin.proba(x)[:, lin.classes.index("1")] for code, lin in self.codes.items()}
        qual_p = {name: lin.proba(x) for name, lin in self.qualifiers.items()}
        out: List[Facts] = []
        for i, text in enumerate(texts):
            denied = fact_cues.denied_hazards(text) | fact_cues.unsupported_hazards(text) if use_decisive else set()
            affected: List[Tuple[str, float]] = sorted(
                ((code, float(p[i])) for code, p in code_p.items() if p[i] >= self.threshold and code not in denied),
                key=lambda item: -item[1],
            )
            held = {code for code, _ in affected}
            qualifiers: Dict[str, Qualifier] = {}
            for name, lin in self.qualifiers.items():
                if name in QUALIFIES and not held & QUALIFIES[name]:
                    continue
                row = qual_p[name][i]
                best = int(np.argmax(row))
                value = value_of(name, lin.classes[best])
                if value is not None:
                    qualifiers[name] = Qualifier(value, float(row[best]))
            if use_decisive:
                for name, value in fact_cues.decisive(text).items():
                    if name in QUALIFIES and not held & QUALIFIES[name]:
                        continue
                    qualifiers[name] = Qualifier(value, 1.0 if name not in qualifiers else
                                                 max(qualifiers[name].p, 0.9))
            out.append(Facts(tuple(affected), qualifiers))
        return out

    def state(self) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
        """Arrays and a JSON-able description, to save with np.savez and json."""
        arrays: Dict[str, np.ndarray] = {}
        meta: Dict[str, Any] = {"threshold": self.threshold, "codes": {}, "qualifiers": {}}
        for kind, table in (("codes", self.codes), ("qualifiers", self.qualifiers)):
            for name, lin in table.items():
                arrays[f"{kind}.{name}.coef"] = lin.coef
                arrays[f"{kind}.{name}.intercept"] = lin.intercept
                meta[kind][name] = lin.classes
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> FactsModel:
        tables: Dict[str, Dict[str, Linear]] = {"codes": {}, "qualifiers": {}}
        for kind in tables:
            for name, classes in meta[kind].items():
                known = AFFECTED_CODES if kind == "codes" else QUALIFIERS
                if name not in known:
                    raise ValueError(f"unknown {kind[:-1]} {name!r} in the saved facts model")
                tables[kind][name] = Linear(list(classes), np.asarray(arrays[f"{kind}.{name}.coef"]),
                                            np.asarray(arrays[f"{kind}.{name}.intercept"]))
        return cls(tables["codes"], tables["qualifiers"], float(meta["threshold"]))


# Intents whose examples say nothing about a repair: they teach the extractor that small talk has no facts.
NO_FACTS_INTENTS = frozenset({
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope", "check_status", "cancel_repair",
    "rate_repair", "request_human", "start_verification", "inform",
})
