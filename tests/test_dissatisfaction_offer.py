"""When the assistant offers a formal complaint (actions/dissatisfaction.py), checked on the actions themselves
in Rasa's Python (they run there, not here): only for words scored as dissatisfied, only once the flow has
finished and asks nothing, never after an emergency or inside a complaint, once a conversation; "no" leaves
things as they were. The Rasa component that scores the words is checked the same way, on real embeddings."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from evaluation.rasa_process import RASA_PYTHON, ROOT, rasa_env

PROBE = r"""
import asyncio, json
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from actions import dissatisfaction as d
from actions.answers import ActionHandleDeny

UNHAPPY = {"text": "Nobody came again, I'm fed up with you lot", "intent": {"name": "check_status"},
           "dissatisfaction": {"score": 0.97, "dissatisfied": True}}
CONTENT = {"text": "When is the plumber coming?", "intent": {"name": "check_status"},
           "dissatisfaction": {"score": 0.04, "dissatisfied": False}}

def tracker(message, **slots):
    return Tracker("telegram:1", slots, message, [], False, None, {}, "action_listen")

def offer(message, events=(), **kw):
    slots = kw.pop("slots", {})
    dispatcher = CollectingDispatcher()
    made = d.offer(dispatcher, tracker(message, **slots), list(events), **kw)
    return {"events": made, "said": [m.get("text") for m in dispatcher.messages],
            "buttons": [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]}

out = {
    "unhappy": offer(UNHAPPY, reference="HR-ABCDEF"),
    "content": offer(CONTENT),
    "no_signal": offer({"text": "hi", "intent": {"name": "greet"}}),
    "emergency": offer(UNHAPPY, emergency=True),
    "offered_before": offer(UNHAPPY, slots={"complaint_offered": True}),
    "asking": offer(UNHAPPY, events=[SlotSet("awaiting", "cancel:HR-ABCDEF")]),
    "form": offer(UNHAPPY, events=[ActiveLoop("verify_form")]),
    "kept": offer(CONTENT, slots={"dissatisfied_text": "It's been six weeks, disgraceful"}),
    "kept_now": offer(CONTENT, events=[SlotSet("dissatisfied_text", "Third time it broke")]),
    "remember": d.remember(tracker(UNHAPPY)),
    "remember_complaint": d.remember(tracker({**UNHAPPY, "intent": {"name": "complaint"}})),
    "remember_emergency": d.remember(tracker(UNHAPPY), emergency=True),
    "remember_offered": d.remember(tracker(UNHAPPY, complaint_offered=True)),
    "rerouted": offer({**UNHAPPY, "intent": {"name": "complaint"},
                       "dissatisfaction": {"score": 0.9, "dissatisfied": True, "rerouted_from": "bot_challenge"}}),
}
dispatcher = CollectingDispatcher()
denied = asyncio.run(ActionHandleDeny().run(dispatcher, tracker(
    {"text": "/deny", "intent": {"name": "deny"}}, awaiting="complaint_confirm:HR-ABCDEF",
    description="Nobody came again"), {}))
out["deny"] = {"events": denied, "said": [m.get("text") for m in dispatcher.messages]}
print(json.dumps(out))
"""

COMPONENT_PROBE = r"""
import json
import numpy as np
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from repairs_dissatisfaction.model import load_model
from repairs_encoder.encoder import SentenceEncoder
from rasa_components.dissatisfaction_detector import DissatisfactionDetector

texts = ["I've waited in three times and nobody has ever come, this is a disgrace",
         "My kitchen light has stopped working", "/affirm"]
vectors = SentenceEncoder().encode(texts)
vectors[2] = 0.0  # as the featurizer gives a button's payload
messages = []
for text, vector in zip(texts, vectors):
    message = Message(data={"text": text})
    message.add_features(Features(vector[None, :], "sentence", "text", "minilm"))
    messages.append(message)
messages.append(Message(data={"text": "no embedding at all"}))
for message, intent in zip(messages, ["bot_challenge", "out_of_scope", "affirm", "greet"]):
    message.set("intent", {"name": intent, "confidence": 0.9})
# The same unhappy words read as a status question, and with an emergency signalled: neither is rerouted.
for intent, emergency in (("check_status", "none"), ("bot_challenge", "water")):
    extra = Message(data={"text": texts[0]})
    extra.add_features(Features(vectors[0][None, :], "sentence", "text", "minilm"))
    extra.set("intent", {"name": intent, "confidence": 0.9})
    extra.set("emergency", {"kind": emergency})
    messages.append(extra)
detector = DissatisfactionDetector({}, load_model())
detector.process(messages)
print(json.dumps([[m.get("dissatisfaction"), m.get("intent")["name"]] for m in messages]))
"""


def _run(code: str) -> Any:
    assert RASA_PYTHON.exists(), "the Rasa environment is missing: run make rasa-env"
    done = subprocess.run([str(RASA_PYTHON), "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=rasa_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    result: dict[str, Any] = _run(PROBE)
    return result


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_dissatisfied_words_are_offered_as_a_complaint_with_yes_and_no(probe: dict[str, Any]) -> None:
    made = probe["unhappy"]
    assert "formal complaint" in made["said"][0] and made["said"][0].startswith("I'm sorry")
    assert made["buttons"] == ["/affirm", "/deny"]
    assert slots(made["events"]) == {"awaiting": "complaint_confirm:HR-ABCDEF",
                                     "description": "Nobody came again, I'm fed up with you lot",
                                     "complaint_offered": True, "dissatisfied_text": None}


@pytest.mark.parametrize("case", ["content", "no_signal", "emergency", "offered_before", "asking", "form"])
def test_no_offer(probe: dict[str, Any], case: str) -> None:
    assert probe[case] == {"events": [], "said": [], "buttons": []}


def test_small_talk_taken_as_a_complaint_is_offered_not_recorded(probe: dict[str, Any]) -> None:
    assert slots(probe["rerouted"]["events"])["awaiting"] == "complaint_confirm:"
    assert "formal complaint" in probe["rerouted"]["said"][0]


def test_words_kept_earlier_in_the_flow_are_the_complaint(probe: dict[str, Any]) -> None:
    assert slots(probe["kept"]["events"])["description"] == "It's been six weeks, disgraceful"
    assert slots(probe["kept_now"]["events"])["description"] == "Third time it broke"


def test_words_are_kept_only_when_an_offer_could_follow(probe: dict[str, Any]) -> None:
    assert slots(probe["remember"]) == {"dissatisfied_text": "Nobody came again, I'm fed up with you lot"}
    assert probe["remember_complaint"] == probe["remember_emergency"] == probe["remember_offered"] == []


def test_no_to_the_offer_logs_nothing_and_carries_on(probe: dict[str, Any]) -> None:
    assert probe["deny"]["said"] == ["OK, I won't log a complaint. Is there anything else I can help with?"]
    assert slots(probe["deny"]["events"]) == {"awaiting": None, "description": None}


def test_the_rasa_component_scores_typed_words_and_leaves_buttons_alone() -> None:
    (unhappy, intent), (content, kept), (button, _), (bare, _), (status, status_intent), (urgent, urgent_intent) = (
        _run(COMPONENT_PROBE))
    assert unhappy["dissatisfied"] is True and unhappy["score"] > content["score"]
    assert content["dissatisfied"] is False
    assert button is None and bare is None
    # Dissatisfaction read as small talk becomes a complaint; a status question or an emergency keeps its intent.
    assert (intent, unhappy["rerouted_from"]) == ("complaint", "bot_challenge")
    assert kept == "out_of_scope" and "rerouted_from" not in content
    assert status["dissatisfied"] is True and status_intent == "check_status" and "rerouted_from" not in status
    assert urgent["dissatisfied"] is True and urgent_intent == "bot_challenge"
