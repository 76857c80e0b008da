"""The words a "Yes" to "Did you mean ...?" confirmed (actions/fallback.py), on trackers shaped as Rasa 3.6 sends
them to the action server (the event order read off a live conversation): given back for the turn of the
confirmation only, never for a later tap, a rephrasing, or a "No". Checked in Rasa's Python, where the actions run;
the whole path through Rasa and the bot is tests/test_conversation_everyday.py and tests/test_telegram_bot.py."""

from __future__ import annotations

import json
import subprocess

import pytest

from evaluation.rasa_process import RASA_PYTHON, ROOT, rasa_env

pytestmark = pytest.mark.slow

PROBE = r"""
import json
from actions.fallback import confirmed_words, restore_confirmed_words

WORDS = {"text": "yes please. water is pouring in through the ceiling", "message_id": "m1",
         "intent": {"name": "nlu_fallback", "confidence": 0.2}, "entities": [],
         "emergency": {"kind": "water", "confidence": 0.99}, "facts": {"affected": []}, "metadata": {}}
TAP = {"text": "/repair_plumbing", "message_id": "m2", "intent": {"name": "repair_plumbing", "confidence": 1.0},
       "intent_ranking": [{"name": "repair_plumbing", "confidence": 1.0}], "entities": [],
       "metadata": {"channel": "telegram"}}

def user(parse):
    return {"event": "user", "text": parse["text"], "parse_data": parse}

def action(name):
    return {"event": "action", "name": name}

ASKED = [action("action_listen"), user(WORDS), {"event": "user_featurization"}, action("action_two_stage_fallback"),
         {"event": "active_loop", "name": "action_two_stage_fallback"}, {"event": "bot", "text": "Did you mean"},
         action("action_listen")]
CONFIRMED = ASKED + [user(TAP), action("action_two_stage_fallback"), {"event": "active_loop", "name": None},
                     {"event": "rewind"}, action("action_listen"), user(TAP), {"event": "user_featurization"}]

def tracker(events, latest):
    return {"sender_id": "telegram:1", "events": events, "latest_message": latest, "slots": {}}

restored = tracker(CONFIRMED, TAP)
restore_confirmed_words(restored)
later = CONFIRMED + [action("action_start_report"), action("action_listen"), user({**TAP, "text": "/affirm",
                                                                                   "intent": {"name": "affirm"}})]
rephrased = dict(WORDS, text="water coming through the ceiling", intent={"name": "repair_plumbing"})
said_no = dict(TAP, text="/out_of_scope", intent={"name": "out_of_scope"})
print(json.dumps({
    "restored": restored["latest_message"],
    "later_tap": confirmed_words(tracker(later, later[-1]["parse_data"])),
    "rephrased": confirmed_words(tracker(CONFIRMED[:-2] + [user(rephrased)], rephrased)),
    "said_no": confirmed_words(tracker(ASKED + [user(said_no)], said_no)),
    "no_fallback": confirmed_words(tracker([action("action_listen"), user(TAP)], TAP)),
}))
"""


@pytest.fixture(scope="module")
def seen() -> dict:
    result = subprocess.run([str(RASA_PYTHON), "-c", PROBE], cwd=ROOT, env=rasa_env(), capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_confirmed_words_come_back_with_the_confirmed_intent(seen: dict) -> None:
    restored = seen["restored"]
    assert restored["text"] == "yes please. water is pouring in through the ceiling"
    assert restored["intent"]["name"] == "repair_plumbing"
    # What the NLU read in the words (the emergency signal, the facts) comes back with them.
    assert restored["emergency"]["kind"] == "water" and restored["facts"] == {"affected": []}
    # The turn stays the tap's own: its id keys what the actions log, its metadata says the channel.
    assert restored["message_id"] == "m2" and restored["metadata"] == {"channel": "telegram"}


def test_only_the_confirmation_turn_gets_them(seen: dict) -> None:
    assert seen["later_tap"] is None
    assert seen["rephrased"] is None
    assert seen["said_no"] is None
    assert seen["no_fallback"] is None
