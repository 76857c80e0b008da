"""Tuning the fact extractor on the development set, in Rasa's environment, without training Rasa.

Run with Rasa's Python (`.venv-rasa/bin/python -m evaluation.facts_dev`): it encodes the training examples and
the development set once (cached under models/), fits the same FactsModel the Rasa component fits, and prints
the development figures for a few settings beside the lexicon-only extractor. The figures `make eval` reports
come from a trained Rasa model over its HTTP API instead (evaluation.facts_eval); this is the quick loop.
Only for the tunable sets: evaluation/dev and, with --retired, the paraphrase set retired in December 2026
(issue 12: its misses were read to tune on); it never reads a blind set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from repairs_common.facts import Facts
from repairs_encoder.encoder import SentenceEncoder

from evaluation.fact_rules import emergency_rules
from evaluation.facts_scoring import FactScores
from rasa_components.fact_cues import lexicon_facts
from rasa_components.facts_model import NO_FACTS_INTENTS, FactsModel, features
from rasa_components.intent_only import teaches_intent_only

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "evaluation" / "dev" / "messages.yml"
# Retired sets: read and tuned on like the development set (evaluation/sets/README.md says when each was retired).
RETIRED = {"paraphrases-2026-12": ROOT / "evaluation" / "sets" / "paraphrases-2026-12" / "messages.yml"}
CACHE = ROOT / "models" / "facts-dev-cache"


def training_examples() -> tuple[list[str], list[dict[str, Any]]]:
    from rasa.shared.nlu.constants import INTENT, METADATA, METADATA_EXAMPLE, METADATA_INTENT, TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    texts, labels = [], []
    for message in load_data(str(ROOT / "nlu")).intent_examples:
        example = (message.get(METADATA) or {}).get(METADATA_EXAMPLE) or {}
        if teaches_intent_only((message.get(METADATA) or {}).get(METADATA_INTENT)):
            continue  # as the component: rasa_components/intent_only.py
        if isinstance(example, dict) and "facts" in example:
            texts.append(message.get(TEXT))
            labels.append(example["facts"])
        elif message.get(INTENT) in NO_FACTS_INTENTS:
            texts.append(message.get(TEXT))
            labels.append({"affected": []})
    return texts, labels


def encode(texts: list[str]) -> np.ndarray:
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = SentenceEncoder().encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def score(name: str, dev: list[dict[str, Any]], predicted: list[Facts]) -> FactScores:
    scores = FactScores(name)
    for item, facts in zip(dev, predicted, strict=True):
        scores.add(str(item["text"]), bool(item["emergency"]), item.get("facts"), facts)
    return scores


def summary(scores: FactScores) -> str:
    f = scores.figures()
    quals = f["qualifiers"]
    return (f"{scores.name:34s} codes P {f['codes_micro']['precision']:.3f} R {f['codes_micro']['recall']:.3f} | "
            f"emergency R {f['emergency']['recall']:.3f} P {f['emergency']['precision']:.3f} | qualifiers "
            + " ".join(f"{n[:6]}={q['accuracy']:.2f}" for n, q in quals.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", help="print the development set's misses of this code/qualifier/emergency")
    parser.add_argument("--json", action="store_true", help="print the full figures of the default settings")
    parser.add_argument("--retired", action="store_true",
                        help="also score the retired paraphrase set with the default settings, per class")
    parser.add_argument("--quick", action="store_true", help="only the default settings")
    args = parser.parse_args()
    dev = yaml.safe_load(DEV.read_text())
    dev_texts = [str(m["text"]) for m in dev]
    texts, labels = training_examples()
    train_vectors, dev_vectors = encode(texts), encode(dev_texts)
    print(f"{len(texts)} training examples ({sum(1 for lab in labels if lab.get('affected'))} with codes)")
    lexicon = score("lexicon only", dev, [Facts.from_labels(lexicon_facts(t)) for t in dev_texts])
    print(summary(lexicon))
    settings = [
        {"dense_weight": 5.0, "cue_weight": 1.0, "c": 3.0},
        {"dense_weight": 5.0, "cue_weight": 1.0, "c": 1.0},
        {"dense_weight": 5.0, "cue_weight": 0.0, "c": 1.0},
        {"dense_weight": 3.0, "cue_weight": 1.0, "c": 1.0},
        {"dense_weight": 5.0, "cue_weight": 2.0, "c": 3.0},
        {"dense_weight": 5.0, "cue_weight": 1.0, "c": 10.0},
        {"dense_weight": 8.0, "cue_weight": 1.0, "c": 1.0},
    ][: 1 if args.quick else None]
    default = None
    for s in settings:
        model = FactsModel.fit(features(train_vectors, texts, s["dense_weight"], s["cue_weight"]), labels, c=s["c"])
        x = features(dev_vectors, dev_texts, s["dense_weight"], s["cue_weight"])
        for decisive in (True, False):
            name = f"learned d={s['dense_weight']} cue={s['cue_weight']} C={s['c']}{' +dec' if decisive else ''}"
            scores = score(name, dev, model.predict(x, dev_texts, use_decisive=decisive))
            print(summary(scores))
            default = default or scores
    if args.retired:
        s = settings[0]
        model = FactsModel.fit(features(train_vectors, texts, s["dense_weight"], s["cue_weight"]), labels, c=s["c"])
        for name, path in RETIRED.items():
            items = yaml.safe_load(path.read_text())
            item_texts = [str(m["text"]) for m in items]
            predicted = model.predict(features(encode(item_texts), item_texts, s["dense_weight"], s["cue_weight"]),
                                      item_texts)
            per_rule: dict[str, dict[str, int]] = {}
            for item, facts in zip(items, predicted, strict=True):
                got, want = bool(emergency_rules(facts)), bool(item["emergency"])
                outcome = ("tp" if got else "fn") if want else ("fp" if got else "tn")
                row = per_rule.setdefault(str(item.get("rule")), {"tp": 0, "fn": 0, "fp": 0, "tn": 0})
                row[outcome] += 1
                if args.misses and outcome in ("fn", "fp"):
                    print(f"  {outcome} {item.get('rule')}: {facts.to_json()} | {item['text']}")
            total = {k: sum(row[k] for row in per_rule.values()) for k in ("tp", "fn", "fp", "tn")}
            print(f"{name}: emergency R {total['tp'] / max(1, total['tp'] + total['fn']):.3f} "
                  f"P {total['tp'] / max(1, total['tp'] + total['fp']):.3f} " + str(total))
            for rule, row in sorted(per_rule.items()):
                print(f"  {rule:30s} " + " ".join(f"{k} {v}" for k, v in row.items()))
    if args.json and default is not None:
        print(json.dumps(default.figures(), indent=1))
    if args.misses and default is not None:
        for miss in default.misses:
            if args.misses in miss["wrong"]:
                print(miss)


if __name__ == "__main__":
    main()
