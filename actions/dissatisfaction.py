"""Offering a formal complaint when a resident sounds dissatisfied, without being asked.

The Housing Ombudsman's Complaint Handling Code (paragraph 1.4): any expression of dissatisfaction is a
complaint, whether or not the resident says "complaint", and should be offered as one. The Rasa pipeline scores
every typed message (rasa_components/dissatisfaction_detector.py adds `dissatisfaction` to the parse); this
leaf module decides when to offer:

- only once the flow the message started has finished and asked nothing (a report is logged first, a status
  is shown first): the offer never stands between a resident and the help they came for;
- never about an emergency: the safety advice and the fast visit are the whole answer;
- never inside a complaint already (the resident asked for one, or was offered a reopen-or-complain);
- at most once a conversation (`complaint_offered`): a resident frustrated in every message is asked once;
- never over a question still open from before (a paused form, a call back offered): it is asked again instead.

A report or a status check may need verification or a form first, so the words are kept in `dissatisfied_text`
until the flow ends; "yes" logs them as the complaint (actions/answers.py, `complaint_confirm`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.texts import yes_no

KEPT = "dissatisfied_text"  # the words that expressed it, until the offer is made
OFFERED = "complaint_offered"  # true once this conversation has been offered a complaint
AWAITING = "complaint_confirm"  # the `awaiting` value while the offer stands ("complaint_confirm:HR-…")
OFFER = ("I'm sorry things haven't been right. Would you like me to log this as a formal complaint? "
         "It won't hold up your repair.")
DECLINED = "OK, I won't log a complaint. Is there anything else I can help with?"
# Intents whose flow is already a complaint, or whose answer must not be followed by an offer.
NOT_HERE = frozenset({"complaint", "repair_gas", "request_human", "affirm", "deny", "stop"})


def expressed(message: Dict[str, Any]) -> bool:
    """Whether the parsed message was scored as an expression of dissatisfaction."""
    signal = message.get("dissatisfaction") or {}
    return bool(isinstance(signal, dict) and signal.get("dissatisfied"))


def rerouted(message: Dict[str, Any]) -> bool:
    """Whether the detector took this message as a complaint although its words read as small talk."""
    signal = message.get("dissatisfaction") or {}
    return bool(isinstance(signal, dict) and signal.get("rerouted_from"))


def remember(tracker: Tracker, *, emergency: bool = False) -> List[EventType]:
    """Keep the latest message's words for an offer once its flow ends, if it expressed dissatisfaction."""
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name")
    if emergency or tracker.get_slot(OFFERED) or not expressed(message):
        return []
    if intent in NOT_HERE and not rerouted(message):
        return []
    return [SlotSet(KEPT, str(message.get("text") or "")[:4000])]


def _set_in(events: List[EventType], slot: str) -> tuple[bool, Any]:
    """Whether `events` set `slot`, and the last value they set."""
    found, value = False, None
    for event in events:
        if isinstance(event, dict) and event.get("event") == "slot" and event.get("name") == slot:
            found, value = True, event.get("value")
    return found, value


def offer(dispatcher: CollectingDispatcher, tracker: Tracker, events: List[EventType], *,
          reference: Optional[str] = None, emergency: bool = False) -> List[EventType]:
    """The events that offer a complaint, to add after `events` (what the finished flow returned), or none.

    The words are the ones kept earlier in the flow, else the latest message's own. Nothing is offered while
    the flow asks something (it set `awaiting`, or started a form) or after an emergency."""
    if emergency or tracker.get_slot(OFFERED):
        return []
    changed, kept = _set_in(events, KEPT)
    text = kept if changed else tracker.get_slot(KEPT)
    if not text:
        text = remember(tracker)[0]["value"] if remember(tracker) else None
    awaiting_changed, awaiting_now = _set_in(events, "awaiting")
    asking = awaiting_now or any(
        isinstance(e, dict) and e.get("event") == "active_loop" and e.get("name") for e in events)
    # A question the conversation had open before this turn (a paused form's "shall we carry on?", a call back
    # offered) is asked again after a digression: the offer would take its place and lose it.
    still_open = not awaiting_changed and bool(tracker.get_slot("awaiting"))
    # Inside a form (a digression answered at its question), unless this flow ended it: the form comes back next.
    in_form = bool(tracker.active_loop_name) and not any(
        isinstance(e, dict) and e.get("event") == "active_loop" and not e.get("name") for e in events)
    if not text or asking or still_open or in_form:
        return []
    dispatcher.utter_message(text=OFFER, buttons=yes_no("Yes, log a complaint", "No, thanks"))
    return [SlotSet("awaiting", f"{AWAITING}:{reference or ''}"), SlotSet("description", text),
            SlotSet(OFFERED, True), SlotSet(KEPT, None)]


def declined(dispatcher: CollectingDispatcher) -> List[EventType]:
    dispatcher.utter_message(text=DECLINED)
    return [SlotSet("awaiting", None), SlotSet("description", None)]
