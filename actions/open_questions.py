"""A yes/no question left open for a digression: "Shall I book a call back?", then "what are my repairs?". The
repairs are shown, and the question is put again ("Shall I still book a call back for you?"), so the next "yes"
is not a yes to something the resident has lost sight of. The question itself stays in `awaiting` throughout.

The kinds of question are the `awaiting` values the capabilities set (handoff, tracking, complaints,
shared_faults, reporting, fact_questions, digressions); only their wording again lives here. Nothing imports
this module: it holds the action that answers "what are my repairs?" outside a form."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import digressions, fact_questions, tracking
from actions.texts import yes_no

Buttons = List[Dict[str, Any]]
# `awaiting` kind -> the question again, given the repair it is about (if any).
_AGAIN: Dict[str, Callable[[str], Tuple[str, Buttons]]] = {
    "offer_callback": lambda _: ("Shall I still book a call back for you?", yes_no("Yes, call me back", "No, thanks")),
    "offer_human": lambda _: ("Would you still like someone from the repairs team to help?",
                              yes_no("Yes, a person please", "No, thanks")),
    "cancel": lambda ref: (f"Do you still want me to cancel {ref}?", yes_no("Yes, cancel it", "No, keep it")),
    "offer_reopen": lambda ref: (f"Would you still like me to send someone back for {ref}? Or I can record a formal "
                                 "complaint.", yes_no("Reopen the repair", "Make a complaint")),
    "retry_report": lambda _: ("Shall I try logging your report again?", yes_no("Yes, try again", "No, leave it")),
    "metoo": lambda ref: (f"Back to your report: is it the same problem as {ref}?",
                          yes_no("Yes, same problem", "No, something else")),
}


def ask_again(dispatcher: CollectingDispatcher, tracker: Tracker, answered: List[EventType]) -> List[EventType]:
    """After a digression's answer (`answered`, its events), put the open yes/no question again, if there is one
    and the answer did not move the conversation on (a question of its own, a form started)."""
    moved_on = any(isinstance(e, dict) and ((e.get("event") == "active_loop" and e.get("name"))
                                            or (e.get("event") == "slot" and e.get("name") == "awaiting"))
                   for e in answered)
    kind, _, reference = (tracker.get_slot("awaiting") or "").partition(":")
    if moved_on or not kind:
        return []
    paused = digressions.paused_form(tracker)
    if paused:
        digressions.ask_to_carry_on(dispatcher, tracker, paused)
        return []
    if kind == fact_questions.AWAITING:
        question = tracker.get_slot("fact_question")
        return fact_questions.ask(dispatcher, question) if isinstance(question, dict) else []
    again = _AGAIN.get(kind)
    if again is None or (kind in ("cancel", "offer_reopen", "metoo") and not reference):
        return []
    text, buttons = again(reference)
    dispatcher.utter_message(text=text, buttons=buttons)
    return []


class ActionCheckStatus(Action):
    """"What are my repairs?" outside a form: the list, then any yes/no question it interrupted, again."""

    def name(self) -> Text:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        answered = await tracking.check_status(dispatcher, tracker)
        return [*answered, *ask_again(dispatcher, tracker, answered)]
