"""The one question the policy asks when an unknown fact would change a report's priority ("Is the water
contained, or is it spreading?"), put to the resident with buttons, and the answer read back.

The question, its buttons and what each answer means live in the repairs service's policy (data/policy.yml,
`fact_questions`), which names it in its answer to /api/v1/assess; this module only shows it and reads the
reply, so the rule that decides is written once. Gas and carbon monoxide never get a question: the policy names
none for them, and their safety advice comes first anyway (actions/safety.py).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

ENTITY = "fact_answer"
AWAITING = "fact"


def message_facts(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The facts the assistant's extractor added to the latest message's parse; None when it has none (an
    older model, or a button press, which is not parsed)."""
    facts = (tracker.latest_message or {}).get("facts")
    return facts if isinstance(facts, dict) else None


def payload(value: Any) -> str:
    """A button's payload: the answer in the fact_answer entity ("true"/"false", or a choice such as "total")."""
    return "/inform" + json.dumps({ENTITY: _spelt(value)})


def _spelt(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def ask(dispatcher: CollectingDispatcher, question: Dict[str, Any]) -> List[EventType]:
    buttons = [{"title": str(o["label"]), "payload": payload(o["value"])} for o in question.get("options") or []]
    dispatcher.utter_message(text=str(question.get("text") or ""), buttons=buttons)
    return [SlotSet("fact_question", question), SlotSet("awaiting", f"{AWAITING}:{question.get('qualifier')}")]


def answered(tracker: Tracker, question: Dict[str, Any], *, said: Optional[bool] = None) -> Optional[Any]:
    """The option the resident chose: a button (the fact_answer entity), or a typed yes/no (`said`) for a
    question whose options are true and false, or whose two buttons read "Yes, ..." and "No, ...". None when
    the reply is not one of the options."""
    options = question.get("options") or []
    values = [o.get("value") for o in options]
    if said is not None:
        if all(isinstance(v, bool) for v in values):
            return said if said in values else None
        # A question with a choice asked as yes or no ("Is the window on the ground floor?": "Yes, ground
        # floor" / "No, upstairs"): a typed yes is the first button, a typed no the second.
        labels = [str(o.get("label") or "").lower() for o in options]
        if len(labels) == 2 and labels[0].startswith("yes") and labels[1].startswith("no"):
            return values[0] if said else values[1]
        return None
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == ENTITY:
            spelt = str(entity.get("value"))
            return next((v for v in values if _spelt(v) == spelt), None)
    return None
