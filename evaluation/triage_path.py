"""`make eval`, the product path: every set through `POST /api/v1/triage` of a running repairs service.

evaluation.facts_eval scores the facts the model extracts with the reference rules (evaluation.fact_rules); this
measures what residents actually get: a repairs service (its own SQLite database, one worker) asks a real Rasa
server with the trained model, and its policy (data/policy.yml) decides. Per set it reports intent, category,
emergency recall and precision, the look-alikes (labelled non-emergencies with a `kind`) called emergencies,
and the latency the client sees (p50/p95, one client, after a warm-up).

It also checks the product decides like the reference rules: for each message the service's `emergency` is set
beside `evaluation.fact_rules` over the facts the model extracted (Rasa's own parse of the same text), and
disagreements are counted by the product's rule, so a difference between data/policy.yml (or what the service
adds: the words' vulnerability, the phrase rules when no fact is held) and FACTS.md shows up by name.

As in facts_eval, the development set (tunable) has its misses written out; the blind sets only aggregates and
per-class counts, never which message was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from repairs_common.facts import Facts

from evaluation.fact_rules import emergency_rules
from evaluation.facts_eval import SETS, TUNABLE
from evaluation.rasa_process import ROOT, RunningRasa, free_port, managed_process, rasa_server, train, wait_until_ready

RESULTS = ROOT / "evaluation" / "results"
# Texts sent before measuring, so the first set's latency does not carry the first requests' start-up costs.
WARM_UP = ("the kitchen tap is dripping", "hello", "my heating is not working", "when is the plumber coming")


@dataclass(frozen=True)
class RunningService:
    url: str
    token: str


@contextmanager
def repairs_service(rasa: RunningRasa, workdir: Path) -> Iterator[RunningService]:
    """The repairs service as residents' reports reach it: `python -m repairs serve`, one worker, its own
    migrated SQLite database, asking `rasa` for every parse."""
    token = "eval-" + secrets.token_hex(16)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env.update({"REPAIRS_DATABASE_URL": f"sqlite:///{workdir / 'repairs.db'}", "REPAIRS_API_TOKEN": token,
                "REPAIRS_SECRET_KEY": secrets.token_hex(32), "REPAIRS_PHOTO_DIR": str(workdir / "photos"),
                "REPAIRS_MIGRATE_ON_START": "false", "REPAIRS_RASA_URL": rasa.url, "RASA_TOKEN": rasa.token,
                "PYTHONUNBUFFERED": "1"})
    subprocess.run([sys.executable, "-m", "repairs", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    command = [sys.executable, "-m", "repairs", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    with managed_process(command, env, RESULTS / "triage-path-service.log") as process:
        wait_until_ready(process, lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200,
                         "repairs service", 120)
        yield RunningService(url, token)


@dataclass
class PathScores:
    """Aggregates for one set through the triage API."""

    name: str
    n: int = 0
    intent_ok: int = 0
    repairs: int = 0
    category_ok: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    lookalikes: int = 0
    lookalikes_called: int = 0
    questions: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    parse_ms: list[float] = field(default_factory=list)  # Rasa's /model/parse of the same text, asked directly
    per_class: Counter[str] = field(default_factory=Counter)  # "kind:tp/fn/fp/tn"
    # "facts:tp" etc.: whether the decision came from held facts, or from the words alone (nothing held)
    by_path: Counter[str] = field(default_factory=Counter)
    agree: int = 0  # reports with facts where the product's emergency equals the reference rules'
    disagree: Counter[str] = field(default_factory=Counter)  # "product rule -> reference rules" counts
    # "expected intent -> got intent" counts, every message: intent errors by class, readable on a blind set
    # because it names no message
    intents: Counter[tuple[str, str]] = field(default_factory=Counter)
    # "expected category -> got category" counts over repair reports the product read as repairs: which pairs
    # are confused, readable on a blind set for the same reason
    categories: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, item: dict[str, Any], body: dict[str, Any], extracted: Facts, ms: float) -> None:
        self.n += 1
        self.latencies_ms.append(ms)
        self.intent_ok += body["intent"] == item["intent"]
        self.intents[(str(item["intent"]), str(body["intent"]))] += 1
        if item["intent"] == "report_repair":
            self.repairs += 1
            self.category_ok += body["category"] == item.get("category")
            self.categories[(str(item.get("category")), str(body["category"]))] += 1
        want, got = bool(item["emergency"]), bool(body["emergency"])
        self.tp += want and got
        self.fn += want and not got
        self.fp += (not want) and got
        kind = item.get("rule") or item.get("kind")
        if not want and kind:
            self.lookalikes += 1
            self.lookalikes_called += got
        outcome = ("tp" if got else "fn") if want else ("fp" if got else "tn")
        self.per_class[f"{kind or ('emergency' if want else 'none')}:{outcome}"] += 1
        if body["intent"] == "report_repair":
            held = Facts.from_json(body.get("facts")).codes() if body.get("facts") else frozenset()
            self.by_path[f"{'facts' if held else 'words alone'}:{outcome}"] += 1
        self.questions += body.get("question") is not None
        reference = emergency_rules(extracted)
        if bool(reference) == got:
            self.agree += 1
        else:
            self.disagree[f"{body.get('rule') or 'none'} -> {'+'.join(reference) or 'not an emergency'}"] += 1
        if want != got or body["intent"] != item["intent"] or (
                item["intent"] == "report_repair" and body["category"] != item.get("category")):
            self.misses.append({"text": item["text"], "want": {k: item.get(k) for k in (
                "intent", "category", "emergency", "kind")}, "got": body})

    def figures(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        table: dict[str, dict[str, int]] = {}
        for key, count in self.per_class.items():
            kind, outcome = key.rsplit(":", 1)
            table.setdefault(kind, {})[outcome] = count
        return {
            "messages": self.n, "intent": ratio(self.intent_ok, self.n), "category": ratio(self.category_ok,
                                                                                           self.repairs),
            "emergency": {"recall": ratio(self.tp, self.tp + self.fn), "precision": ratio(self.tp, self.tp + self.fp),
                          "tp": self.tp, "fp": self.fp, "fn": self.fn},
            "lookalikes": {"messages": self.lookalikes, "called_emergency": self.lookalikes_called},
            "questions_asked": self.questions,
            "latency_ms": percentiles(self.latencies_ms),
            "rasa_parse_ms": percentiles(self.parse_ms),
            "reference_rules": {"agree": self.agree, "disagree": dict(sorted(self.disagree.items()))},
            "by_path": dict(sorted(self.by_path.items())),
            "per_class": dict(sorted(table.items())),
            "intent_confusion": self.intent_confusion(),
            "category_confusion": self.category_confusion(),
        }

    def category_confusion(self) -> dict[str, dict[str, int]]:
        """Expected category -> {wrong category given: count}, counts only, mistakes only."""
        table: dict[str, dict[str, int]] = {}
        for (want, got), count in sorted(self.categories.items()):
            if want != got:
                table.setdefault(want, {})[got] = count
        return table

    def intent_confusion(self) -> dict[str, dict[str, int]]:
        """Expected intent -> {got intent: count}, counts only."""
        table: dict[str, dict[str, int]] = {}
        for (want, got), count in sorted(self.intents.items()):
            table.setdefault(want, {})[got] = count
        return table


def percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None}
    return {"p50": round(statistics.median(ordered), 1), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1)}


def extracted_facts(http: httpx.Client, rasa: RunningRasa, text: str) -> tuple[Facts, float]:
    """The facts the model itself reads in `text` (before the service adds anything), and how long Rasa took."""
    started = time.perf_counter()
    response = http.post(f"{rasa.url}/model/parse", params={"token": rasa.token}, json={"text": text})
    ms = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return Facts.from_json(response.json().get("facts")), ms


def run_sets(service: RunningService, rasa: RunningRasa, sets: dict[str, list[dict[str, Any]]]
             ) -> dict[str, PathScores]:
    headers = {"Authorization": f"Bearer {service.token}"}
    results: dict[str, PathScores] = {}
    timeout = httpx.Timeout(30.0, connect=2.0)
    with httpx.Client(base_url=service.url, headers=headers, timeout=timeout) as http, \
            httpx.Client(timeout=timeout) as nlu:
        for text in WARM_UP:
            http.post("/api/v1/triage", json={"text": text}).raise_for_status()
        for name, items in sets.items():
            scores = results[name] = PathScores(name)
            for item in items:
                started = time.perf_counter()
                response = http.post("/api/v1/triage", json={"text": str(item["text"])})
                ms = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                facts, parse_ms = extracted_facts(nlu, rasa, str(item["text"]))
                scores.parse_ms.append(parse_ms)
                scores.add(item, response.json(), facts, ms)
    return results


def render(results: dict[str, PathScores]) -> str:
    lines = [f"# The product path: POST /api/v1/triage (measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
             "Each message through a running repairs service (one worker, SQLite) backed by a real Rasa server with",
             "the trained model; the policy in data/policy.yml decides. Latency is what one client sees, one",
             "request at a time, on this shared 2-core machine. The development set is tuned against; the blind",
             "sets are not, and only their aggregates are shown.", "",
             "| set | messages | intent | category | emergency recall | emergency precision | look-alikes called "
             "emergencies | questions | p50 ms | p95 ms | Rasa parse alone p50 / p95 ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, scores in results.items():
        f = scores.figures()
        e, la, lat = f["emergency"], f["lookalikes"], f["latency_ms"]
        lines.append(f"| {name} | {f['messages']} | {f['intent']} | {f['category']} | {e['recall']} "
                     f"({e['tp']}/{e['tp'] + e['fn']}) | {e['precision']} ({e['fp']} false) | "
                     f"{la['called_emergency']} of {la['messages']} | {f['questions_asked']} | {lat['p50']} | "
                     f"{lat['p95']} | {f['rasa_parse_ms']['p50']} / {f['rasa_parse_ms']['p95']} |")
    lines += ["", "## Product rules against the reference rules (same facts)", "",
              "Messages the product and evaluation/fact_rules.py (over the model's own facts) decide differently, "
              "by the product's rule -> the reference rules met.", ""]
    for name, scores in results.items():
        f = scores.figures()["reference_rules"]
        detail = "; ".join(f"{k}: {v}" for k, v in f["disagree"].items()) or "none"
        lines.append(f"- {name}: {f['agree']} agree; disagree: {detail}")
    lines += ["", "Repair reports by what decided them (facts held, or the words alone: the phrase rules and the "
              "gas detector) and outcome:", ""]
    for name, scores in results.items():
        paths = scores.figures()["by_path"]
        lines.append(f"- {name}: " + "; ".join(f"{k} {v}" for k, v in paths.items()))
    lines += ["", "## Emergencies by class (counts)", "", "| set | class | tp | fn | fp | tn |",
              "| --- | --- | --- | --- | --- | --- |"]
    for name, scores in results.items():
        for kind, c in scores.figures()["per_class"].items():
            if c.get("tp") or c.get("fn") or c.get("fp"):
                lines.append(f"| {name} | {kind} | {c.get('tp', 0)} | {c.get('fn', 0)} | {c.get('fp', 0)} | "
                             f"{c.get('tn', 0)} |")
    lines += render_intent_confusion(results)
    lines += render_category_confusion(results)
    return "\n".join(lines) + "\n"


def render_intent_confusion(results: dict[str, PathScores]) -> list[str]:
    """One table per set: a row per expected intent, a column per intent the product gave (counts only)."""
    lines = ["", "## Intents: expected (rows) against given (columns), counts", ""]
    for name, scores in results.items():
        table = scores.intent_confusion()
        given = sorted({got for row in table.values() for got in row})
        lines += [f"### {name}", "", "| expected | " + " | ".join(given) + " | correct |",
                  "| --- | " + " | ".join("---" for _ in given) + " | --- |"]
        for want, row in table.items():
            cells = " | ".join(str(row.get(got, "")) for got in given)
            lines.append(f"| {want} | {cells} | {row.get(want, 0)}/{sum(row.values())} |")
        lines.append("")
    return lines[:-1]


def render_category_confusion(results: dict[str, PathScores]) -> list[str]:
    """Per set, the category mistakes as expected -> given: count, counts only."""
    lines = ["", "## Categories confused: expected -> given, counts (repair reports only)", ""]
    for name, scores in results.items():
        pairs = [(want, got, count) for want, row in scores.category_confusion().items() for got, count in row.items()]
        pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
        lines.append(f"- {name}: " + ("; ".join(f"{w} -> {g}: {c}" for w, g, c in pairs) or "none"))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    args = parser.parse_args()
    sets = {name: yaml.safe_load(SETS[name].read_text()) for name in args.sets}
    RESULTS.mkdir(parents=True, exist_ok=True)
    model = train(ROOT / "models").path
    with rasa_server(model, log_file=RESULTS / "triage-path-rasa.log") as rasa, \
            tempfile.TemporaryDirectory(prefix="triage-path-") as workdir, \
            repairs_service(rasa, Path(workdir)) as service:
        results = run_sets(service, rasa, sets)
    report = render(results)
    (RESULTS / "triage_path.md").write_text(report)
    (RESULTS / "triage_path.json").write_text(json.dumps({n: s.figures() for n, s in results.items()}, indent=1))
    for name in TUNABLE & set(results):
        (RESULTS / f"triage-path-{name}-misses.json").write_text(json.dumps(results[name].misses, indent=1))
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
