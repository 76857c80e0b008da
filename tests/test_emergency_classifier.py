"""The learned emergency signal (rasa_components/emergency_classifier.py) on the trained model.

The classifier counts its own words and character n-grams (the pipeline has no sparse featurizers) and scores
a parse from its weights directly rather than through scikit-learn's predict_proba. These check, in Rasa's own
Python on the model `rasa train` made, that the direct scores are predict_proba's, and through a real Rasa
server that the signal is raised for emergencies and not for ordinary turns. The messages were written for this
test; none comes from the development or blind sets.
"""

from __future__ import annotations

import json
import subprocess
import tempfile

import pytest

from evaluation.rasa_process import RASA_PYTHON, ROOT, RunningRasa, rasa_env, train
from tests.rasa_parse import parse, rasa_for_parsing  # noqa: F401  (the `rasa` fixture)

pytestmark = pytest.mark.slow

EMERGENCIES = [
    "water is gushing out of the pipe under my sink and I can't turn it off",
    "I can smell gas really strongly in the kitchen near the cooker",
    "someone kicked my front door in last night and it won't lock now",
]
ORDINARY = [
    "hello there",
    "thanks very much for your help",
    "can you tell me when the joiner is coming to fix my wardrobe door",
]

# Loads the trained component as `rasa run` does (from the model archive), featurises the texts with the real
# encoder, and compares the direct scores with scikit-learn's over the same features.
CHECK = """
import json, sys, tempfile
from pathlib import Path
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_components.emergency_classifier import EmergencyClassifier
from rasa_components.minilm_featurizer import MiniLMFeaturizer

archive, texts = Path(sys.argv[1]), json.loads(sys.argv[2])
with tempfile.TemporaryDirectory() as scratch:
    storage, metadata = LocalModelStorage.from_model_archive(Path(scratch), archive)
    node = next(n for n in metadata.predict_schema.nodes.values() if n.uses is EmergencyClassifier)
    component = EmergencyClassifier.load(node.config, storage, node.resource,
                                         ExecutionContext(metadata.predict_schema))
    config = {**MiniLMFeaturizer.get_default_config(), FEATURIZER_CLASS_ALIAS: "minilm"}
    messages = MiniLMFeaturizer(config, "minilm").process([Message(data={TEXT: t}) for t in texts])
    direct = component._probabilities(messages)
    reference = component._clf.predict_proba(component._features(messages))
    print(json.dumps({"rows": len(direct), "max_difference": float(abs(direct - reference).max()),
                      "classes": len(component._clf.classes_)}))
"""


def test_direct_scores_are_scikit_learns() -> None:
    model = train(ROOT / "models").path
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run([str(RASA_PYTHON), "-c", CHECK, str(model), json.dumps(EMERGENCIES + ORDINARY)],
                             capture_output=True, text=True, cwd=scratch, env=rasa_env(), timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == len(EMERGENCIES + ORDINARY)
    assert result["classes"] > 2  # the multinomial case, not only the two-class one
    assert result["max_difference"] < 1e-9


@pytest.mark.parametrize("text", EMERGENCIES)
def test_an_emergency_raises_the_signal(rasa: RunningRasa, text: str) -> None:
    signal = parse(rasa, text)["emergency"]
    assert signal["kind"] != "none"
    assert signal["confidence"] >= 0.7


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_turn_does_not(rasa: RunningRasa, text: str) -> None:
    assert parse(rasa, text)["emergency"]["kind"] == "none"
