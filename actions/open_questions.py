"""A yes/no question left open for a digression: "Shall I book a call back?", then "what are my repairs?". The
repairs are shown, and the question is put again ("Shall I still book a call back for you?"), so the next "yes"
is not a yes to something the resident has lost sight of. The question itself stays in `awaiting` throughout.
The same holds for asking for a person, asking what the assistant can do, and an out-of-scope question or "are
you a bot?" while a question is open (the rules run action_ask_again after the short answer).

The kinds of question are the `awaiting` values the capabilities set (handoff, tracking, complaints,
shared_faults, reporting, fact_questions, digressions, dissatisfaction); only their wording again lives here.
It holds the actions that answer "what are my repairs?" and "a person please" outside a form, and the one that
puts the open question again; reporting imports it to put the question again after an emergency logged at once.
It imports no flow that starts a report, so there is no circle."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import digressions, dissatisfaction, fact_questions, handoff, tracking
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
    "rate": lambda ref: (f"Back to {ref}: how did we do? 5 is excellent, 1 is very poor.",
                         tracking.rating_buttons()),
    "rate_fixed": lambda ref: (f"Back to {ref}: how did we do? 5 is excellent, 1 is very poor.",
                               tracking.rating_buttons()),
    dissatisfaction.AWAITING: lambda _: ("Would you still like me to log a formal complaint?",
                                         yes_no("Yes, log a complaint", "No, thanks")),
}
# The questions about one repair, put again only when they name it ("Which repair?" is asked by its own flow).
_ABOUT_A_REPAIR = ("cancel", "offer_reopen", "metoo", "rate", "rate_fixed")
# What asking for a person answers rather than interrupts.
_ANSWERED_BY_A_PERSON = (handoff.OFFER_CALLBACK, "offer_human")


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
    if again is None or (kind in _ABOUT_A_REPAIR and not reference):
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


class ActionRequestHuman(Action):
    """A person, outside a form: the number and a call back (actions/handoff.py), then any yes/no question it
    interrupted, again. A call back booked answers an offer of one, or of a person; any other question stays
    open (booking one clears `awaiting` for the offer it answers, not for a cancel still waiting)."""

    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        kind = (tracker.get_slot("awaiting") or "").partition(":")[0]
        answered = await handoff.request_human(dispatcher, tracker)
        if not kind or kind in _ANSWERED_BY_A_PERSON:
            return answered
        kept = [e for e in answered if not (isinstance(e, dict) and e.get("event") == "slot"
                                             and e.get("name") == "awaiting" and e.get("value") is None)]
        return [*kept, *ask_again(dispatcher, tracker, kept)]


class ActionAskAgain(Action):
    """After a short answer outside a form ("what can you do?", an out-of-scope question, "are you a bot?"):
    the yes/no question it interrupted, again, if one is open; nothing otherwise."""

    def name(self) -> Text:
        return "action_ask_again"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return ask_again(dispatcher, tracker, [])
