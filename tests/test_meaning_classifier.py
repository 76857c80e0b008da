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


@pytest.mark.parametrize(("text", "intent"), [
    ("please cancel the man coming about my leaking bath waste, my cousin is a plumber and he has replaced it",
     "cancel_repair"),
    # A known miss, kept in view: a status question that tells the fault first and asks only at the end is still
    # read as a new report (the embedding is mostly the fault's). Strict, so it says when it comes right.
    pytest.param("the kitchen ceiling light stopped working on monday and I reported it, which day is the "
                 "electrician booked", "check_status",
                 marks=pytest.mark.xfail(strict=True, reason="the fault told first outweighs the question")),
    ("I'd like someone from the repairs team to phone me about the damp on my bedroom wall, I'm no good at typing",
     "request_human"),
    ("could someone come and fix my front door lock please, the key won't turn at all", "repair_doors_windows"),
])
def test_a_request_that_names_the_repair_is_not_a_new_report(rasa: RunningRasa, text: str, intent: str) -> None:
    """Issue 12's intent boundaries: the repair's words do not outvote what the resident asks for
    (nlu/intent_mixed_requests.yml), and a report that asks for someone to come is still a report."""
    assert parse(rasa, text)["intent"]["name"] == intent


@pytest.mark.parametrize(("text", "intent"), [("yes", "affirm"), ("nope", "deny"), ("cheers", "thank"),
                                              ("yes go ahead and book it in", "affirm")])
def test_short_turns_stay_above_the_fallback(rasa: RunningRasa, text: str, intent: str) -> None:
    body = parse(rasa, text)
    assert body["intent"]["name"] == intent
    assert body["intent"]["confidence"] >= fallback_threshold()


@pytest.mark.parametrize("text", ["zxqv plorb wibblenarf", "blah blah blah"])
def test_gibberish_is_not_understood_but_triage_still_gets_a_ranking(rasa: RunningRasa, text: str) -> None:
    body = parse(rasa, text)
    assert body["intent"]["name"] == "nlu_fallback"
    real = [r for r in body["intent_ranking"] if r["name"] != "nlu_fallback"]
    assert real and all(r["confidence"] < fallback_threshold() for r in real)
