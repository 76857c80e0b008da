"""A tie between two repair intents is a report with its category open, not a message not understood
(rasa_components/repair_tie.py), run in Rasa's own Python on the messages the FallbackClassifier leaves."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from evaluation.rasa_process import RASA_PYTHON, ROOT, rasa_env

PROBE = r"""
import json
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa_components.repair_tie import RepairTieResolver

cases = {
    "repair tie": [("repair_fittings", 0.49), ("repair_plumbing", 0.44), ("complaint", 0.01)],
    "repair and status tie": [("repair_plumbing", 0.45), ("check_status", 0.41), ("complaint", 0.05)],
    "low confidence repairs": [("repair_fittings", 0.15), ("repair_plumbing", 0.14), ("greet", 0.1)],
    "clear repair": [("repair_fittings", 0.9), ("repair_plumbing", 0.05)],
}
fallback = FallbackClassifier({**FallbackClassifier.get_default_config(), "threshold": 0.2})
resolver = RepairTieResolver({"min_confidence": 0.2})
out = {}
for name, ranking in cases.items():
    message = Message(data={"text": "words"})
    message.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    fallback.process([message])
    after_fallback = message.get("intent")["name"]
    resolver.process([message])
    out[name] = {"fallback": after_fallback, "intent": message.get("intent")["name"],
                 "ranking": [r["name"] for r in message.get("intent_ranking")]}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    assert RASA_PYTHON.exists(), "the Rasa environment is missing: run make rasa-env"
    done = subprocess.run([str(RASA_PYTHON), "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                          env=rasa_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_tie_between_two_repairs_is_the_top_repair(probe: dict[str, Any]) -> None:
    case = probe["repair tie"]
    assert case["fallback"] == "nlu_fallback", "Rasa's fallback calls the tie not understood"
    assert case["intent"] == "repair_fittings"
    assert case["ranking"] == ["repair_fittings", "repair_plumbing", "complaint"]


@pytest.mark.parametrize("name", ["repair and status tie", "low confidence repairs"])
def test_other_fallbacks_stand(probe: dict[str, Any], name: str) -> None:
    case = probe[name]
    assert case["fallback"] == case["intent"] == "nlu_fallback"
    assert case["ranking"][0] == "nlu_fallback"


def test_a_clear_repair_is_left_alone(probe: dict[str, Any]) -> None:
    assert probe["clear repair"] == {"fallback": "repair_fittings", "intent": "repair_fittings",
                                     "ranking": ["repair_fittings", "repair_plumbing"]}
