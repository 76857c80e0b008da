"""Intent-only training examples teach the intent classifier and nothing else (rasa_components/intent_only.py).

The probe loads the real nlu/ training data with Rasa's own reader, in Rasa's own Python, and asks the facts
extractor and the emergency classifier which examples they learn from: a cancel or a status question that names
a burst pipe must not teach either that a burst pipe is nothing.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from evaluation.rasa_process import RASA_PYTHON, ROOT, rasa_env

MIXED = ROOT / "nlu" / "intent_mixed_requests.yml"

PROBE = r"""
import json
from rasa.shared.nlu.constants import INTENT, METADATA, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa_components.emergency_classifier import training_examples
from rasa_components.facts_extractor import fact_labels
from rasa_components.intent_only import teaches_intent_only

data = load_data("nlu")
only = [m for m in data.intent_examples if teaches_intent_only((m.get(METADATA) or {}).get(METADATA_INTENT))]
emergency = {id(m) for m in training_examples(data)}
print(json.dumps({
    "intent_only": sorted(m.get(TEXT) for m in only),
    "intents": sorted({m.get(INTENT) for m in only}),
    "facts_labelled": sum(fact_labels(m) is not None for m in only),
    "in_emergency_training": sum(id(m) in emergency for m in only),
    "plain_status_has_no_facts": [fact_labels(m) for m in data.intent_examples
                                  if m.get(TEXT) == "any update on my repair"],
    "emergency_training": len(emergency),
}))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    assert RASA_PYTHON.exists(), "the Rasa environment is missing: run make rasa-env"
    done = subprocess.run([str(RASA_PYTHON), "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                          env=rasa_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_mixed_request_is_intent_only(probe: dict[str, Any]) -> None:
    blocks = yaml.safe_load(MIXED.read_text())["nlu"]
    assert all(block["metadata"] == {"labels": "intent_only"} for block in blocks)
    written = sorted(line.strip()[2:] for block in blocks for line in block["examples"].splitlines() if line.strip())
    assert probe["intent_only"] == written
    assert {"cancel_repair", "check_status", "request_human", "complaint"} <= set(probe["intents"])


def test_intent_only_examples_teach_neither_facts_nor_emergencies(probe: dict[str, Any]) -> None:
    assert probe["facts_labelled"] == 0
    assert probe["in_emergency_training"] == 0
    # Everything else is as before: a plain status question still teaches "no facts", and the emergency
    # classifier still has its own examples.
    assert probe["plain_status_has_no_facts"] == [{"affected": []}]
    assert probe["emergency_training"] > 1000
