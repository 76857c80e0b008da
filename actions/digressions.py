"""Digressions: inside a form (checking who the resident is, a report, adding information to a repair) a
resident may ask for their repairs, for a person, or what the assistant can do. The form is paused, the
request answered, and the resident asked whether to carry on where they were ("Shall we carry on with your
report about a lift?"); a yes starts the form again at the question it had reached, with everything already
given kept. "Stop" or "cancel that" ends the form instead, with nothing logged. "Bye" ("gotta go", "that's all")
pauses it the same way without asking: the resident is told what is kept, and a hello later puts the question.

Small talk and out-of-scope questions inside a form do not pause it: the rules
(data/dialogue/digressions.yml) give a short answer and the form asks its question again.

What was paused, and the question it had asked, live in the `awaiting` slot ("resume:report_form:place"), so any
replica can take the answer. An answer to that question typed instead of "yes" ("the bathroom") is taken as the
answer: the form starts again with it, and asks what comes next."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, report_changes, tracking
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


# The questions a typed answer can answer while the form is paused, and whether any words can be that answer
# (False: only words the form's validator recognises, such as the summary's "the room's wrong").
_TYPED_ANSWERS = {"tenancy_reference": True, "postcode": True, "place": True, "details": True, "access": True,
                  "information_text": True, "report_confirmed": False}
# The questions that ask the resident to describe the problem: words read as a repair answer them too.
DESCRIBING = ("details", "information_text")


def _paused(tracker: Tracker) -> tuple[Optional[str], Optional[str]]:
    kind, _, rest = (tracker.get_slot("awaiting") or "").partition(":")
    form, _, question = rest.partition(":")
    if kind != RESUME or form not in FORMS:
        return None, None
    return form, question or None


def paused_form(tracker: Tracker) -> Optional[str]:
    """The form waiting for "shall we carry on?", if any."""
    return _paused(tracker)[0]


def paused_question(tracker: Tracker) -> Optional[str]:
    """The slot the paused form had asked for when it was paused, if known."""
    return _paused(tracker)[1]


def typed_answer(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The paused form's question answered by the latest message instead of "yes": the slot and the words, or None.
    A button is never a typed answer, and a word the summary's validator would not take (see _TYPED_ANSWERS)
    is left to it only when it names a part of the summary."""
    question = paused_question(tracker)
    text = str(tracker.latest_message.get("text") or "").strip()
    if question not in _TYPED_ANSWERS or not text or text.startswith("/"):
        return None
    if not _TYPED_ANSWERS[question] and not report_changes.named_field(text, list(report_changes.FIELD_NAMES)):
        return None
    return {question: text[:4000]}


def carry_on_with_answer(form: str, answer: Dict[str, Any]) -> List[EventType]:
    """Start the paused form again with its question answered: the form validates the answer as if it had just
    been given to it, then asks what comes next. The answer's events come last: a form coming back validates the
    slot events at the very end of the conversation (rasa_sdk's `Tracker.slots_to_validate`)."""
    question = next(iter(answer))
    return [SlotSet("awaiting", None), ActiveLoop(form), SlotSet("requested_slot", question),
            *[SlotSet(slot, value) for slot, value in answer.items()]]


def describe(tracker: Tracker, form: str, pending: Optional[str] = None) -> str:
    """The paused flow in words, to finish "Shall we carry on with ...?". `pending`: what verification is for,
    when this turn's digression has just given it something to carry out (the tracker does not have it yet)."""
    if form == "report_form":
        category = tracker.get_slot("category")
        if category and category != "other":
            return f"your report about {CATEGORY_NAMES.get(category, 'the repair')}"
        return "your repair report"
    if form == "information_form":
        reference = tracker.get_slot("ticket_ref")
        return f"adding information to {reference}" if reference else "adding information to your repair"
    goal = _AFTER_VERIFYING.get(pending or tracker.get_slot("pending") or "")
    return f"checking who you are, so I can {goal}" if goal else "checking who you are"


def ask_to_carry_on(dispatcher: CollectingDispatcher, tracker: Tracker, form: str,
                    pending: Optional[str] = None) -> None:
    dispatcher.utter_message(text=f"Shall we carry on with {describe(tracker, form, pending)}?",
                             buttons=yes_no("Yes, carry on", "No, leave it"))


def offer_to_carry_on(dispatcher: CollectingDispatcher, tracker: Tracker, form: str,
                      asked: Optional[str] = None, pending: Optional[str] = None) -> List[EventType]:
    """Pause `form` and ask whether to come back to it. `asked`: the question it had reached, when the form is
    no longer running (offered again after a second interruption); else the one it is asking now. `pending`:
    see describe."""
    ask_to_carry_on(dispatcher, tracker, form, pending)
    return pause(tracker, form, asked)


def pause(tracker: Tracker, form: str, asked: Optional[str] = None) -> List[EventType]:
    """Stop `form` with everything given kept, remembering the question it had reached (`asked`, else the one
    it is asking now), so a "yes" later carries on from there."""
    asked = asked or tracker.get_slot("requested_slot")
    paused = f"{RESUME}:{form}:{asked}" if asked else f"{RESUME}:{form}"
    return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("awaiting", paused)]


def goodbye_text(tracker: Tracker, form: str) -> str:
    """What "bye" inside `form` is told: what is kept, that nothing is logged yet, and how to pick it up. The
    chat forgets a conversation after an hour's silence (domain.yml's session_config), hence "within the hour"."""
    back = "Say hello again within the hour and we can carry on where we left off."
    if form == "report_form":
        return f"Bye for now. I've kept {describe(tracker, form)} as far as we got, but it isn't logged yet. {back}"
    if form == "information_form":
        reference = tracker.get_slot("ticket_ref") or "your repair"
        return f"Bye for now. Nothing has been added to {reference} yet. {back}"
    return f"Bye for now. Say hello again within the hour and we can carry on {describe(tracker, form)}."


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
    return [*events, SlotSet("pending", None), SlotSet("pending_after", None), SlotSet("tenancy_reference", None),
            SlotSet("postcode", None)]


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
        # "Verify me" had nothing to carry out; the digression may just have given it something (show the
        # repairs), which the offer names.
        pending = next((str(e.get("value")) for e in answered if isinstance(e, dict) and e.get("event") == "slot"
                        and e.get("name") == "pending" and e.get("value")), None)
        return [*answered, *offer_to_carry_on(dispatcher, tracker, form, pending=pending)]


class ActionLeaveForNow(Action):
    """"Bye", "gotta go", "that's all" inside a form: not the answer to its question. The form is paused with
    everything given kept, the resident told so, and a "hello" later puts "shall we carry on?" again (the greet
    rule runs action_ask_again)."""

    def name(self) -> Text:
        return "action_leave_for_now"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        form = tracker.active_loop_name
        if form not in FORMS:
            dispatcher.utter_message(response="utter_goodbye")
            return []
        dispatcher.utter_message(text=goodbye_text(tracker, form))
        return pause(tracker, form)


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
