"""Scoring extracted facts against labelled ones (evaluation/FACTS.md): per-code precision and recall,
per-qualifier accuracy, and the emergencies the facts imply under the reference rules (evaluation.fact_rules).

Only aggregates and counts come out of `FactScores.figures`; which messages were missed is kept apart
(`misses`) so a caller may show them for the development set and never for a blind set.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from repairs_common.facts import AFFECTED_CODES, QUALIFIERS, Facts

from evaluation.fact_rules import is_emergency


@dataclass
class FactScores:
    name: str
    messages: int = 0  # every message scored for emergencies
    labelled: int = 0  # messages with fact labels (repair reports)
    code_tp: Counter[str] = field(default_factory=Counter)
    code_fp: Counter[str] = field(default_factory=Counter)
    code_fn: Counter[str] = field(default_factory=Counter)
    qualifier_ok: Counter[str] = field(default_factory=Counter)
    stated: Counter[str] = field(default_factory=Counter)  # labels with a value (not "not said")
    stated_ok: Counter[str] = field(default_factory=Counter)
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str, want_emergency: bool, labels: dict[str, Any] | None, got: Facts) -> None:
        self.messages += 1
        emergency = is_emergency(got)
        self.tp += want_emergency and emergency
        self.fn += want_emergency and not emergency
        self.fp += (not want_emergency) and emergency
        wrong: list[str] = []
        if emergency != want_emergency:
            wrong.append("emergency")
        if labels is not None:
            self.labelled += 1
            want = Facts.from_labels(labels)
            want_codes, got_codes = want.codes(), got.codes()
            for code in AFFECTED_CODES:
                if code in want_codes and code in got_codes:
                    self.code_tp[code] += 1
                elif code in want_codes:
                    self.code_fn[code] += 1
                    wrong.append(code)
                elif code in got_codes:
                    self.code_fp[code] += 1
                    wrong.append(code)
            for name in QUALIFIERS:
                ok = want.get(name) == got.get(name)
                self.qualifier_ok[name] += ok
                if labels.get(name) is not None:
                    self.stated[name] += 1
                    self.stated_ok[name] += ok
                if not ok:
                    wrong.append(name)
        if wrong:
            self.misses.append({"text": text, "wrong": wrong, "want": labels, "got": got.to_json()})

    def figures(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        codes = {
            code: {"precision": ratio(self.code_tp[code], self.code_tp[code] + self.code_fp[code]),
                   "recall": ratio(self.code_tp[code], self.code_tp[code] + self.code_fn[code]),
                   "support": self.code_tp[code] + self.code_fn[code]}
            for code in sorted(AFFECTED_CODES)
        }
        tp, fp, fn = (sum(c.values()) for c in (self.code_tp, self.code_fp, self.code_fn))
        qualifiers = {
            name: {"accuracy": ratio(self.qualifier_ok[name], self.labelled),
                   "stated_accuracy": ratio(self.stated_ok[name], self.stated[name]), "stated": self.stated[name]}
            for name in QUALIFIERS
        }
        return {
            "extractor": self.name, "messages": self.messages, "labelled": self.labelled,
            "codes_micro": {"precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn)},
            "codes": codes, "qualifiers": qualifiers,
            "emergency": {"recall": ratio(self.tp, self.tp + self.fn), "precision": ratio(self.tp, self.tp + self.fp),
                          "tp": self.tp, "fp": self.fp, "fn": self.fn},
        }
