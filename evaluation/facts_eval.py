"""`make eval`: the assistant's understanding on the development set and the blind sets, from its facts.

Each message goes to a trained Rasa model's `/model/parse`. Intent and category are read as the triage API reads
them (repairs.triage.service); emergencies are decided from the extracted facts with the reference rules that
define the labels (evaluation.fact_rules), which is what the fact-based policy is built to meet. The lexicon-only
extractor (rasa_components.fact_cues) is scored the same way, to show what the learning adds, and Rasa's default
pipeline (what `rasa init` writes) is trained on the same data and measured for intent and category.

What it may show differs by set. The development set (evaluation/dev) is for tuning: its misses are written to
evaluation/results/facts-dev-misses.json. For the blind sets (evaluation/sets/) only aggregates and per-class
counts are computed and written: never which message was missed, because reading a blind set's mistakes
retires it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from repairs_common.facts import Facts

from evaluation.fact_rules import is_emergency
from evaluation.facts_scoring import FactScores
from evaluation.heldout import DEFAULT_EPOCHS, cross_validation, default_config
from evaluation.rasa_process import ROOT, rasa_server, train
from rasa_components.fact_cues import lexicon_facts
from repairs.policy.loader import load_policy
from repairs.triage.rasa_client import Parse, _emergency_kind
from repairs.triage.service import triage

RESULTS = ROOT / "evaluation" / "results"
SETS = {
    "dev": ROOT / "evaluation" / "dev" / "messages.yml",
    "blind-2026-12": ROOT / "evaluation" / "sets" / "blind-2026-12" / "messages.yml",
    "paraphrases-2026-12": ROOT / "evaluation" / "sets" / "paraphrases-2026-12" / "messages.yml",
    "paraphrases-2026-12b": ROOT / "evaluation" / "sets" / "paraphrases-2026-12b" / "messages.yml",
    # Aimed at the borders between intents (a cancel, a status question or a request for a person that names the
    # repair in detail): blind, like the two above.
    "intents-2026-12c": ROOT / "evaluation" / "sets" / "intents-2026-12c" / "messages.yml",
}
TUNABLE = {"dev", "paraphrases-2026-12"}  # paraphrases-2026-12 retired in December 2026 (issue 12): tuned on
# Issue 12 item 6: the pipeline config.yml had before its intents came from the embedding alone, measured beside it
# on every set (the choice between them was made on the development set and cross-validation, never on the blind
# figures).
PREVIOUS = ROOT / "evaluation" / "configs" / "counts_and_embedding.yml"


@dataclass
class SetScores:
    """Aggregates for one set and one pipeline; per-class counts keyed by the set's `kind`/`rule` label."""

    name: str
    n: int = 0
    intent_ok: int = 0
    repairs: int = 0
    category_ok: int = 0
    facts: dict[str, FactScores] = field(default_factory=dict)  # extractor -> scores (emergency from facts)
    triage_tp: int = 0  # the emergencies today's triage (phrase rules + learned signal) calls, for comparison
    triage_fp: int = 0
    per_class: dict[str, Counter[str]] = field(default_factory=dict)  # extractor -> "kind:tp/fn/fp/tn" counts

    def add_understanding(self, item: dict[str, Any], intent: str, category: str | None) -> None:
        self.n += 1
        self.intent_ok += intent == item["intent"]
        if item["intent"] == "report_repair":
            self.repairs += 1
            self.category_ok += category == item.get("category")

    def add_facts(self, extractor: str, item: dict[str, Any], facts: Facts) -> None:
        scores = self.facts.setdefault(extractor, FactScores(extractor))
        scores.add(str(item["text"]), bool(item["emergency"]), item.get("facts"), facts)
        kind = str(item.get("rule") or item.get("kind") or ("emergency" if item["emergency"] else "none"))
        got, want = is_emergency(facts), bool(item["emergency"])
        outcome = ("tp" if got else "fn") if want else ("fp" if got else "tn")
        self.per_class.setdefault(extractor, Counter())[f"{kind}:{outcome}"] += 1

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "messages": self.n,
            "intent": round(self.intent_ok / self.n, 3) if self.n else None,
            "category": round(self.category_ok / self.repairs, 3) if self.repairs else None,
        }
        if self.triage_tp or self.triage_fp:
            wanted = next(iter(self.facts.values()), None)
            positives = (wanted.tp + wanted.fn) if wanted else 0
            out["triage_today"] = {
                "recall": round(self.triage_tp / positives, 3) if positives else None,
                "precision": round(self.triage_tp / (self.triage_tp + self.triage_fp), 3),
            }
        for extractor, scores in self.facts.items():
            figures = scores.figures()
            if not scores.labelled:  # a set without fact labels: only the emergencies mean anything
                figures = {"emergency": figures["emergency"]}
            out[extractor] = figures
            out[extractor]["per_class"] = per_class_table(self.per_class.get(extractor, Counter()))
        return out


def per_class_table(counts: Counter[str]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for key, n in counts.items():
        kind, outcome = key.rsplit(":", 1)
        table.setdefault(kind, {})[outcome] = n
    return dict(sorted(table.items()))


def parse_message(http: httpx.Client, url: str, token: str, text: str) -> tuple[Parse, Facts]:
    response = http.post(f"{url}/model/parse", params={"token": token}, json={"text": text})
    response.raise_for_status()
    body = response.json()
    intent = body.get("intent") or {}
    parse = Parse(
        intent=str(intent.get("name") or "nlu_fallback"),
        confidence=float(intent.get("confidence") or 0.0),
        ranking=[(str(r.get("name")), float(r.get("confidence") or 0.0)) for r in body.get("intent_ranking") or []],
        entities=list(body.get("entities") or []),
        emergency=_emergency_kind(body.get("emergency")),
    )
    return parse, Facts.from_json(body.get("facts"))


def evaluate(model: Path, sets: dict[str, list[dict[str, Any]]], *, with_facts: bool) -> dict[str, SetScores]:
    policy = load_policy(ROOT / "data")
    now = datetime.now(UTC)
    results: dict[str, SetScores] = {}
    with rasa_server(model, log_file=RESULTS / f"rasa-{model.stem}.log") as rasa, \
            httpx.Client(timeout=httpx.Timeout(30.0, connect=2.0)) as http:
        for name, items in sets.items():
            scores = results[name] = SetScores(name)
            for item in items:
                text = str(item["text"])
                parse, facts = parse_message(http, rasa.url, rasa.token, text)
                result = triage(parse, text, policy, now=now)
                scores.add_understanding(item, result.intent, result.category)
                if with_facts:
                    scores.add_facts("learned", item, facts)
                    scores.add_facts("lexicon", item, Facts.from_labels(lexicon_facts(text)))
                    scores.triage_tp += bool(item["emergency"]) and result.emergency
                    scores.triage_fp += (not item["emergency"]) and result.emergency
    return results


def paraphrase_pass_rate(scores: SetScores, extractor: str) -> dict[str, Any]:
    """Every paraphrase an emergency and no counterpart one: the share of items that came out right."""
    table = per_class_table(scores.per_class.get(extractor, Counter()))
    right = sum(c.get("tp", 0) + c.get("tn", 0) for c in table.values())
    total = sum(sum(c.values()) for c in table.values())
    return {"pass_rate": round(right / total, 3) if total else None,
            "paraphrases_missed": sum(c.get("fn", 0) for c in table.values()),
            "counterparts_called": sum(c.get("fp", 0) for c in table.values())}


def render(ours: dict[str, SetScores], default: dict[str, SetScores] | None, cv: dict[str, dict[str, float]],
           previous: dict[str, SetScores] | None = None, default_epochs: int = DEFAULT_EPOCHS) -> str:
    lines = [f"# Understanding, from facts (measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
             "Emergencies are decided from the extracted facts with the reference rules (evaluation/fact_rules.py).",
             "The development set is tuned against; the blind sets are not, and only their aggregates are shown.", "",
             "| set | pipeline | intent | category | emergency recall | emergency precision |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, scores in ours.items():
        f = scores.figures()
        for extractor in ("learned", "lexicon"):
            e = f[extractor]["emergency"]
            lines.append(f"| {name} | assistant, {extractor} facts | {f['intent']} | {f['category']} | {e['recall']} "
                         f"({e['tp']}/{e['tp'] + e['fn']}) | {e['precision']} ({e['fp']} false) |")
        if "triage_today" in f:
            t = f["triage_today"]
            lines.append(f"| {name} | today's triage (phrase rules + learned signal) | | | {t['recall']} | "
                         f"{t['precision']} |")
        if default and name in default:
            d = default[name].figures()
            lines.append(f"| {name} | Rasa default pipeline (DIET, {default_epochs} epochs) | {d['intent']} | "
                         f"{d['category']} | | |")
        if previous and name in previous:
            c = previous[name].figures()
            lines.append(f"| {name} | previous: Rasa LR over counts + embedding | {c['intent']} | {c['category']} "
                         "| | |")
    if "paraphrases-2026-12" in ours:
        for extractor in ("learned", "lexicon"):
            p = paraphrase_pass_rate(ours["paraphrases-2026-12"], extractor)
            lines.append(f"\nParaphrases, {extractor} facts: pass rate {p['pass_rate']} ({p['paraphrases_missed']} "
                         f"paraphrases missed, {p['counterparts_called']} counterparts called emergencies).")
    dev = ours.get("dev")
    if dev:
        lines += ["", "## Development set: facts", "", "| extractor | codes P / R | " + " | ".join(
            q for q in dev.figures()["learned"]["qualifiers"]) + " |", "| --- " * 12 + "|"]
        for extractor in ("learned", "lexicon"):
            f = dev.figures()[extractor]
            micro = f["codes_micro"]
            lines.append(f"| {extractor} | {micro['precision']} / {micro['recall']} | "
                         + " | ".join(str(q["accuracy"]) for q in f["qualifiers"].values()) + " |")
        lines += ["", "| code | learned P / R | lexicon P / R | support |", "| --- | --- | --- | --- |"]
        learned, lexicon = dev.figures()["learned"]["codes"], dev.figures()["lexicon"]["codes"]
        for code in learned:
            a, b = learned[code], lexicon[code]
            lines.append(f"| {code} | {a['precision']} / {a['recall']} | {b['precision']} / {b['recall']} | "
                         f"{a['support']} |")
    for label, figures in cv.items():
        lines += ["", f"Rasa NLU cross-validation of {label} on the training data (nlu/, fine intents): intent "
                      f"accuracy {figures['accuracy']:.3f}, macro F1 {figures['macro_f1']:.3f}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=3, help="cross-validation folds (0 to skip)")
    parser.add_argument("--no-default", action="store_true", help="skip Rasa's default pipeline (slow to train)")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--previous", type=Path, default=PREVIOUS,
                        help="a pipeline to measure beside config.yml on the same sets ('' to skip)")
    parser.add_argument("--default-epochs", type=int, default=DEFAULT_EPOCHS,
                        help="epochs for DIET in Rasa's default pipeline (rasa init writes 100)")
    args = parser.parse_args()
    sets = {name: yaml.safe_load(SETS[name].read_text()) for name in args.sets}
    RESULTS.mkdir(parents=True, exist_ok=True)
    ours = evaluate(train(ROOT / "models").path, sets, with_facts=True)
    default = None
    if not args.no_default:
        model = train(RESULTS / "models", config=default_config(args.default_epochs),
                      name=f"rasa-default-{args.default_epochs}", nlu_only=True).path
        default = evaluate(model, sets, with_facts=False)
    previous = None
    if str(args.previous) not in ("", "."):
        model = train(RESULTS / "models", config=args.previous, name="previous", nlu_only=True).path
        previous = evaluate(model, sets, with_facts=False)
    cv: dict[str, dict[str, float]] = {}
    if args.folds > 1:
        cv["config.yml"] = cross_validation(args.folds)
        if previous is not None:
            cv[args.previous.name] = cross_validation(args.folds, config=args.previous)
    report = render(ours, default, cv, previous, args.default_epochs)
    figures: dict[str, Any] = {name: s.figures() for name, s in ours.items()}
    if "paraphrases-2026-12" in ours:
        figures["paraphrases-2026-12"]["pass"] = {
            e: paraphrase_pass_rate(ours["paraphrases-2026-12"], e) for e in ("learned", "lexicon")}
    if default:
        figures["rasa_default"] = {name: s.figures() for name, s in default.items()}
    if previous:
        figures["previous_counts_and_embedding"] = {name: s.figures() for name, s in previous.items()}
    figures["cross_validation"] = cv
    (RESULTS / "facts.md").write_text(report)
    (RESULTS / "facts.json").write_text(json.dumps(figures, indent=1))
    for name in TUNABLE & set(ours):
        misses = {e: s.misses for e, s in ours[name].facts.items()}
        (RESULTS / f"facts-{name}-misses.json").write_text(json.dumps(misses, indent=1))
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
