"""The intent classifier reads meaning first (rasa_components/meaning_classifier.py), through a real Rasa server.

The model is trained, saved into its archive and loaded back by `rasa run`, so these check the component as the
assistant runs it: repairs named in words the training data does not use get their category, a message that
names a repair without reporting one gets its real intent, short dialogue turns stay above the fallback
threshold, and gibberish falls below it while the ranking still offers triage a best guess. The messages were
written for this test; none comes from the development or blind sets.
"""

from __future__ import annotations

import pytest
import yaml

from evaluation.rasa_process import ROOT, RunningRasa
from tests.rasa_parse import parse, rasa_for_parsing  # noqa: F401  (the `rasa` fixture)

pytestmark = pytest.mark.slow


def fallback_threshold() -> float:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    return float(next(p for p in pipeline if p["name"] == "FallbackClassifier")["threshold"])


@pytest.mark.parametrize(("text", "intent"), [
    ("radiators are freezing even though the boiler's been on all morning", "repair_heating"),
    ("the flat's full of black spots on the walls behind the wardrobe", "repair_damp_mould"),
    ("there are droppings all along the kitchen skirting, pretty sure we've got rats", "repair_pests"),
    ("the plumber you sent never came back with the part, I want to make a formal complaint", "complaint"),
    ("please cancel the electrician's visit, the switch works fine again now", "cancel_repair"),
])
def test_meaning_decides_the_intent(rasa: RunningRasa, text: str, intent: str) -> None:
    assert parse(rasa, text)["intent"]["name"] == intent


@pytest.mark.parametrize(("text", "intent"), [("yes", "affirm"), ("nope", "deny"), ("cheers", "thank"),
                                              ("yes go ahead and book it in", "affirm")])
def test_short_turns_stay_above_the_fallback(rasa: RunningRasa, text: str, intent: str) -> None:
    body = parse(rasa, text)
    assert body["intent"]["name"] == intent
    assert body["intent"]["confidence"] >= fallback_threshold()


def test_gibberish_is_not_understood_but_triage_still_gets_a_ranking(rasa: RunningRasa) -> None:
    body = parse(rasa, "zxqv plorb wibblenarf")
    assert body["intent"]["name"] == "nlu_fallback"
    real = [r for r in body["intent_ranking"] if r["name"] != "nlu_fallback"]
    assert real and all(r["confidence"] < fallback_threshold() for r in real)
