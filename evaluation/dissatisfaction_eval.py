"""`make eval`: the dissatisfaction classifier (packages/repairs_dissatisfaction) on its labelled sets.

A set is a YAML list of mappings with `text`, `dissatisfied` (bool), `about` (what the dissatisfaction is about,
null when there is none) and `style` (how it is written). Each text is scored as the listening page and the
assistant score it (`dissatisfaction_score`, the committed model.json and its threshold).

What it may show differs by set. The development set (packages/repairs_dissatisfaction/data/dev.yml, our own) and
the retired set dissatisfaction-2026-12 (its per-style false alarms were studied after its blind run, so it has
been tuned against: evaluation/sets/README.md) are for tuning: `--show-misses` prints their misses, and the report
names the retired set as retired, its figures not a measure of how the classifier does on new messages. The set
that came after it, dissatisfaction-2026-12b, is retired too (its aggregate figures chose a threshold in December
2026), but its messages were never read: it stays aggregates only. For the blind set
(evaluation/sets/dissatisfaction-2026-12c, the measure since) only aggregates are computed, printed and written:
recall, precision, and per-`about` and per-`style` counts; never a text, and never which message was missed,
because reading a blind set's mistakes retires it. A set whose file is not there yet is left out with a note.

With `--cv`, the training set's cross-validated figures are added (training.py; needs scikit-learn, so this runs
in the Rasa environment, which has it and the encoder).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from repairs_dissatisfaction.model import load_model
from repairs_dissatisfaction.scoring import dissatisfaction_score

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "evaluation" / "results"
SETS = {
    "dev": ROOT / "packages" / "repairs_dissatisfaction" / "data" / "dev.yml",
    "dissatisfaction-2026-12": ROOT / "evaluation" / "sets" / "dissatisfaction-2026-12" / "messages.yml",
    "dissatisfaction-2026-12b": ROOT / "evaluation" / "sets" / "dissatisfaction-2026-12b" / "messages.yml",
    "dissatisfaction-2026-12c": ROOT / "evaluation" / "sets" / "dissatisfaction-2026-12c" / "messages.yml",
}
# Sets that may be read and tuned on: their misses may be printed. Every other set is blind (aggregates only).
TUNABLE = {"dev", "dissatisfaction-2026-12"}
# Tuned on after a blind run: still measured, but labelled so its figures are not taken for generalisation.
# 12b's aggregates chose a threshold, its messages were never read: retired, and still never shown (not TUNABLE).
RETIRED = {"dissatisfaction-2026-12", "dissatisfaction-2026-12b"}
KIND_NOTES = {"tuning": "ours, tuned on", "retired": "retired: tuned on, not a measure of new messages",
              "blind": "blind: run once at the end, aggregates only"}
TARGETS = {"recall": 0.90, "precision": 0.85}


@dataclass
class Scores:
    name: str
    n: int = 0
    positives: int = 0
    flagged: int = 0
    true_positives: int = 0
    by_about: dict[str, list[int]] = field(default_factory=dict)  # about -> [found, of]
    by_style: dict[str, list[int]] = field(default_factory=dict)  # style -> [found, of] among the dissatisfied
    false_by_style: dict[str, list[int]] = field(default_factory=dict)  # style -> [flagged, of] among the content

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 0.0

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"set": self.name, "n": self.n, "dissatisfied": self.positives, "flagged": self.flagged,
                "true_positives": self.true_positives, "recall": round(self.recall, 3),
                "precision": round(self.precision, 3), "kind": set_kind(self.name), "recall_by_about": self.by_about,
                "recall_by_style": self.by_style, "false_alarms_by_style": self.false_by_style,
                "meets_targets": self.recall >= TARGETS["recall"] and self.precision >= TARGETS["precision"]}


def set_kind(name: str) -> str:
    return "retired" if name in RETIRED else "tuning" if name in TUNABLE else "blind"


def load_set(path: Path) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(items, list) or not all(isinstance(i, dict) and "text" in i and isinstance(
            i.get("dissatisfied"), bool) for i in items):
        raise ValueError(f"{path}: expected a list of mappings with `text` and a boolean `dissatisfied`")
    return items


def score_set(name: str, items: list[dict[str, Any]], threshold: float) -> tuple[Scores, list[tuple[float, dict]]]:
    scores = dissatisfaction_score([str(i["text"]) for i in items])
    result = Scores(name=name, n=len(items))
    misses = []
    for item, score in zip(items, scores, strict=True):
        flagged, truth = score >= threshold, bool(item["dissatisfied"])
        style = str(item.get("style") or "-")
        result.flagged += flagged
        if truth:
            result.positives += 1
            result.true_positives += flagged
            for key, table in ((str(item.get("about") or "-"), result.by_about), (style, result.by_style)):
                row = table.setdefault(key, [0, 0])
                row[0] += flagged
                row[1] += 1
        else:
            row = result.false_by_style.setdefault(style, [0, 0])
            row[0] += flagged
            row[1] += 1
        if flagged != truth:
            misses.append((score, item))
    return result, misses


def cross_validation() -> dict[str, Any]:
    import numpy as np
    from repairs_dissatisfaction import training
    from repairs_encoder.encoder import SentenceEncoder

    model = load_model()
    examples = training.load_examples()
    texts = [e.text for e in examples]
    encoder = SentenceEncoder(threads=2)
    vectors = encoder.encode(texts)
    labels = np.array([e.dissatisfied for e in examples])
    # Scored as the model scores: the whole, and the sentences of long messages by the model's rule.
    pieces = training.Pieces.of(texts, encoder)
    runs = [training.out_of_fold(vectors, texts, labels, model.c, model.word_weight, 5, seed, model.min_df,
                                 pieces, model) for seed in range(3)]
    recall, precision = training.recall_precision(np.concatenate(runs), np.tile(labels, 3), model.threshold)
    return {"examples": len(examples), "dissatisfied": int(labels.sum()), "C": model.c, "folds": 5, "repeats": 3,
            "sentence_weight": model.sentence_weight,
            "recall": round(recall, 3), "precision": round(precision, 3)}


def _table(rows: dict[str, list[int]], what: str) -> list[str]:
    lines = [f"| {what} | found | of |", "| --- | --- | --- |"]
    lines += [f"| {key} | {found} | {total} |" for key, (found, total) in sorted(rows.items())]
    return lines


def report(results: list[Scores], threshold: float, cv: dict[str, Any] | None) -> str:
    # timezone.utc, not datetime.UTC: this runs in the Rasa environment's Python 3.10, which has no UTC alias.
    now = datetime.now(timezone.utc)  # noqa: UP017
    lines = ["# Dissatisfaction detection", "",
             f"Measured {now:%Y-%m-%d %H:%M} UTC by `python -m evaluation.dissatisfaction_eval`. "
             "The classifier: packages/repairs_dissatisfaction (logistic regression over the MiniLM sentence "
             "embedding and character 2-4-grams; a long message's sentences scored too, near the threshold), "
             f"threshold {threshold:.2f}. Targets (issue 14): "
             f"recall >= {TARGETS['recall']}, precision >= {TARGETS['precision']}.", ""]
    if cv:
        lines += [f"Training set ({cv['examples']} messages, {cv['dissatisfied']} dissatisfied), {cv['folds']}-fold "
                  f"cross-validation x {cv['repeats']}: recall {cv['recall']:.3f}, precision {cv['precision']:.3f}.",
                  ""]
    for r in results:
        lines += [f"## {r.name} ({KIND_NOTES[set_kind(r.name)]})", "",
                  f"{r.n} messages, {r.positives} dissatisfied; flagged {r.flagged}, of which {r.true_positives} "
                  f"right. **Recall {r.recall:.3f}, precision {r.precision:.3f}** "
                  f"({'meets' if r.as_dict()['meets_targets'] else 'misses'} the targets).", ""]
        lines += ["Recall by what the dissatisfaction is about:", "", *_table(r.by_about, "about"), ""]
        lines += ["Recall by style (dissatisfied messages):", "", *_table(r.by_style, "style"), ""]
        lines += ["False alarms by style (messages with no dissatisfaction):", "",
                  *_table(r.false_by_style, "style"), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--cv", action="store_true", help="add the training set's cross-validation (scikit-learn)")
    parser.add_argument("--show-misses", action="store_true",
                        help="print the misses of the sets that may be tuned on (dev, retired)")
    parser.add_argument("--out", type=Path, default=RESULTS / "dissatisfaction")
    args = parser.parse_args(argv)
    threshold = load_model().threshold
    results = []
    for name in args.sets:
        if not SETS[name].exists():
            print(f"{name}: no set at {SETS[name]} yet, left out")
            continue
        scores, misses = score_set(name, load_set(SETS[name]), threshold)
        results.append(scores)
        print(f"{name}: n={scores.n} recall {scores.recall:.3f} precision {scores.precision:.3f}")
        if args.show_misses and name in TUNABLE:
            for score, item in sorted(misses, key=lambda m: m[0]):
                print(f"  {score:.2f} {'dissatisfied' if item['dissatisfied'] else 'content':>12}: {item['text']}")
    cv = cross_validation() if args.cv else None
    text = report(results, threshold, cv)
    args.out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"threshold": threshold, "cross_validation": cv, "sets": [r.as_dict() for r in results]}, indent=1) + "\n",
        encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
