"""Digressions: inside a form (checking who the resident is, a report, adding information to a repair) a
resident may ask for their repairs, for a person, or what the assistant can do. The form is paused, the
request answered, and the resident asked whether to carry on where they were ("Shall we carry on with your
report about a lift?"); a yes starts the form again at the question it had reached, with everything already
given kept. "Stop" or "cancel that" ends the form instead, with nothing logged.

Small talk and out-of-scope questions inside a form do not pause it: the rules
(data/dialogue/digressions.yml) give a short answer and the form asks its question again.

What was paused lives in the `awaiting` slot ("resume:report_form"), so any replica can take the answer."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, tracking
from actions.pending import Pending
from actions.texts import CATEGORY_NAMES, yes_no

FORMS = ("verify_form", "report_form", "information_form")
RESUME = "resume"

# What verification is for, by the `pending` request it will carry out (actions/resume.py).
_AFTER_VERIFYING = {
    "report": "log your repair",
    "emergency": "log your emergency",
    "status": "show your repairs",
    "cancel": "cancel your repair",
    "reopen": "send someone back",
    "rate": "take your rating",
    "information": "add to your repair",
    "photo": "add your photo",
    "complaint": "record your complaint",
    "human": "arrange a call back",
}
# The slots a report keeps while it is paused, cleared when the resident leaves it for good.
_REPORT_SLOTS = ("category_confirmed", "place", "details", "access", "vulnerable_present", "report_confirmed",
                 "location_type", "facts", "fact_answers", "fact_question", "report_id", "description")


def paused_form(tracker: Tracker) -> Optional[str]:
    """The form waiting for "shall we carry on?", if any."""
    kind, _, form = (tracker.get_slot("awaiting") or "").partition(":")
    return form if kind == RESUME and form in FORMS else None


def describe(tracker: Tracker, form: str) -> str:
    """The paused flow in words, to finish "Shall we carry on with ...?"."""
    if form == "report_form":
        category = tracker.get_slot("category")
        if category and category != "other":
            return f"your report about {CATEGORY_NAMES.get(category, 'the repair')}"
        return "your repair report"
    if form == "information_form":
        reference = tracker.get_slot("ticket_ref")
        return f"adding information to {reference}" if reference else "adding information to your repair"
    goal = _AFTER_VERIFYING.get(tracker.get_slot("pending") or "")
    return f"checking who you are, so I can {goal}" if goal else "checking who you are"


def offer_to_carry_on(dispatcher: CollectingDispatcher, tracker: Tracker, form: str) -> List[EventType]:
    """Pause `form` and ask whether to come back to it."""
    dispatcher.utter_message(text=f"Shall we carry on with {describe(tracker, form)}?",
                             buttons=yes_no("Yes, carry on", "No, leave it"))
    return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("awaiting", f"{RESUME}:{form}")]


def carry_on(form: str) -> List[EventType]:
    """Start the paused form again: Rasa runs it next, and it asks the first question still unanswered."""
    return [SlotSet("awaiting", None), ActiveLoop(form)]


def leave(dispatcher: CollectingDispatcher, form: str) -> List[EventType]:
    """The resident does not want to carry on: forget the paused form, nothing logged."""
    events: List[EventType] = [SlotSet("awaiting", None), SlotSet("requested_slot", None)]
    if form == "report_form":
        dispatcher.utter_message(text="OK, I've left that report and haven't logged anything. Tell me whenever "
                                      "you want to start it again.")
        return events + [SlotSet(slot, None) for slot in _REPORT_SLOTS]
    if form == "information_form":
        dispatcher.utter_message(text="OK, I haven't added anything.")
        return [*events, SlotSet("information_text", None)]
    dispatcher.utter_message(text="OK. Is there anything else I can help with?")
    return [*events, SlotSet("pending", None), SlotSet("tenancy_reference", None), SlotSet("postcode", None)]


def stop(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """"Stop", "cancel that", "forget it": end what is going on, nothing logged."""
    form = tracker.active_loop_name if tracker.active_loop_name in FORMS else paused_form(tracker)
    # Always ends the loop, as the rules say (nothing runs outside a form, and it costs nothing there).
    ended: List[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
    if form:
        return ended + leave(dispatcher, form)
    kind, _, reference = (tracker.get_slot("awaiting") or "").partition(":")
    if kind == "cancel" and reference:
        dispatcher.utter_message(text=f"OK, I've left {reference} as it is.")
    else:
        dispatcher.utter_message(text="OK, I've stopped. Is there anything else I can help with?")
    return [*ended, SlotSet("awaiting", None)]


async def _answer(dispatcher: CollectingDispatcher, tracker: Tracker, form: str, intent: str) -> List[EventType]:
    """Answer the digression itself; the caller then offers to carry on."""
    verified = form != "verify_form"  # the other forms run only for a resident the service knows
    if intent == "check_status":
        if verified:
            return await tracking.check_status(dispatcher, tracker)
        dispatcher.utter_message(text="I can show you your repairs as soon as I know who you are.")
        # Verification started by the "Verify me" button has nothing to carry out yet: now it has.
        return [] if tracker.get_slot("pending") else [SlotSet("pending", Pending.STATUS.value)]
    if intent == "request_human":
        if verified:
            return await handoff.request_human(dispatcher, tracker, in_form=True)
        dispatcher.utter_message(text=await handoff.contact_line())
        return [] if tracker.get_slot("pending") else [SlotSet("pending", Pending.HUMAN.value)]
    if intent == "cancel_repair":
        return await tracking.cancel_repair(dispatcher, tracker)
    dispatcher.utter_message(response="utter_capabilities")
    return []


class ActionDigress(Action):
    """A request inside a form: answer it, then ask whether to carry on with the form."""

    def name(self) -> Text:
        return "action_digress"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        form = tracker.active_loop_name
        if form not in FORMS:
            return []
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        answered = await _answer(dispatcher, tracker, form, intent)
        # A digression that had to start verification of its own (the service forgot the chat, say) has
        # already moved the conversation on; there is nothing to come back to.
        if any(isinstance(e, dict) and e.get("event") == "active_loop" and e.get("name") for e in answered):
            return answered
        # An answer that asked a question of its own (which repair to cancel) keeps its `awaiting`;
        # the offer to carry on would take its place, so it waits for that answer instead.
        if any(isinstance(e, dict) and e.get("name") == "awaiting" and e.get("value") for e in answered):
            return [ActiveLoop(None), SlotSet("requested_slot", None), *answered]
        return [*answered, *offer_to_carry_on(dispatcher, tracker, form)]


class ActionStopFlow(Action):
    """"Stop" or "cancel that", inside a form or outside one. "Cancel HR-..." inside a form is a digression
    about that repair, not an end to the form."""

    def name(self) -> Text:
        return "action_stop_flow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        form = tracker.active_loop_name
        if form in FORMS and form != "verify_form" and tracking.mentioned_reference(tracker):
            return await ActionDigress().run(dispatcher, tracker, domain)
        return stop(dispatcher, tracker)
