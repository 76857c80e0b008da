"""A person when the resident wants one, or when the assistant keeps misunderstanding."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from repairs_common.taxonomy import REPAIR_INTENT_PREFIX, category_from_intent

from actions import usage
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import current_resident, resident_channel
from actions.pending import Pending
from actions.texts import ASK_REPHRASE, CATEGORY_NAMES, repairs_phone, yes_no
from actions.turn_keys import turn_key

OFFER_CALLBACK = "offer_callback"  # `awaiting`: the number was given, and a call back offered

# Asking for the number itself ("is there a phone number for a real person?", "what number do I ring?"),
# as against asking to be rung ("can someone call me back?").
_NUMBER = re.compile(r"\b(numbers?|phone no|tel(ephone)? no|contact details|which line|what line)\b|"
                     r"\b(ring|call|phone) (you|someone|somebody|the (council|office|team|repairs))\b", re.IGNORECASE)
_CALL_ME = re.compile(r"\b(call|ring|phone|contact) me\b|\bcall ?back\b|\bring ?back\b", re.IGNORECASE)


def asks_for_number(text: str) -> bool:
    return bool(_NUMBER.search(text)) and not _CALL_ME.search(text)


async def contact_line() -> str:
    try:
        council = await get_client().council()
    except (ServiceUnavailable, ApiError):
        # The service knows the opening hours and the out-of-hours line; without it, the number we were given.
        return (f"You can call the repairs team on {repairs_phone()}. In an emergency out of hours, call the same "
                "number.")
    return (
        f"You can call the repairs team on {council['repairs_phone']} ({council['opening_hours']}). "
        f"Out of hours, for emergencies only: {council['out_of_hours_phone']}."
    )


async def request_human(dispatcher: CollectingDispatcher, tracker: Tracker, *,
                        in_form: bool = False) -> List[EventType]:
    """A person: the number to call, and a call back. Asking for the number ("is there a number for a real
    person?") gets the number and the offer of a call back; asking to be called gets the call back booked.
    `in_form`: asked in the middle of a form, which will offer to carry on, so no second yes/no question."""
    await usage.count(tracker, "person")
    # Asking for a person ends whatever form was running (the rules say `active_loop: null`); without
    # this the form stays active after the hand-off and the next turn falls back.
    return [ActiveLoop(None), SlotSet("requested_slot", None), *await _hand_off(dispatcher, tracker, in_form)]


async def _hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, in_form: bool) -> List[EventType]:
    client = get_client()
    try:
        resident = await current_resident(client, tracker)
    except ServiceUnavailable:
        dispatcher.utter_message(text=await contact_line())
        return []
    if resident is None:
        dispatcher.utter_message(text=await contact_line())
        dispatcher.utter_message(
            text="If you'd like someone to call you back, I need to check who you are first.",
            buttons=[{"title": "Yes, call me back", "payload": "/start_verification"}],
        )
        return [SlotSet("pending", Pending.HUMAN.value)]
    if asks_for_number(tracker.latest_message.get("text") or ""):
        dispatcher.utter_message(text=await contact_line())
        if in_form:
            dispatcher.utter_message(text="If you'd rather someone called you, just say \"call me back\".")
            return []
        dispatcher.utter_message(text="Or would you like someone from the repairs team to call you back?",
                                 buttons=yes_no("Yes, call me back", "No, thanks"))
        return [SlotSet("awaiting", OFFER_CALLBACK)]
    reason = tracker.get_slot("description") or tracker.latest_message.get("text") or "Asked for a person in the chat"
    return await book_callback(dispatcher, tracker, reason)


async def book_callback(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[EventType]:
    """Ask the repairs team to call the (verified) resident back; once per message, however often it is sent."""
    key = f"callback:{turn_key(tracker)}"
    try:
        answer = await get_client().request_callback(resident_channel(tracker), reason, idempotency_key=key)
    except (ServiceUnavailable, ApiError):
        dispatcher.utter_message(text=await contact_line())
        return []
    dispatcher.utter_message(text=answer["message"])
    dispatcher.utter_message(text=await contact_line())
    return [SlotSet("awaiting", None)]


# "A person" outside a form is actions/open_questions.ActionRequestHuman (it asks again what it interrupted).


# The fallback's first stage ("Did you mean ...?") is actions/fallback.ActionDefaultAskAffirmation: it puts safety
# first, which needs actions/interruptions, which imports this module.


def meaning(intent: str) -> str | None:
    if intent.startswith(REPAIR_INTENT_PREFIX):
        category = category_from_intent(intent)
        return f"you want to report a problem with {CATEGORY_NAMES[category] if category else 'something'}"
    return {
        "check_status": "you want to check on a repair",
        "cancel_repair": "you want to cancel a repair",
        "reopen_repair": "a repair isn't fixed",
        "complaint": "you want to make a complaint",
        "request_human": "you want to talk to a person",
        "add_information": "you want to add information to a repair",
        "add_photo": "you want to send a photo",
        "rate_repair": "you want to rate a repair",
    }.get(intent)


class ActionDefaultAskRephrase(Action):
    """Second stage of the fallback: ask them to say it another way, with examples."""

    def name(self) -> Text:
        return "action_default_ask_rephrase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        await usage.count_misunderstanding(tracker)
        dispatcher.utter_message(text=ASK_REPHRASE)
        return []


class ActionDefaultFallback(Action):
    """After two misunderstandings (the two-stage fallback gives up), or when no rule knows what to do
    next: say so honestly and offer a person. A "yes" then answers the offer (action_handle_affirm)."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        await usage.count_misunderstanding(tracker)
        dispatcher.utter_message(
            text="Sorry, I'm still not understanding. Would you like a person from the repairs team to help?",
            buttons=yes_no("Yes, a person please", "No, I'll try again"),
        )
        offer: List[EventType] = [SlotSet("awaiting", "offer_human")]
        if tracker.active_loop_name == "action_two_stage_fallback":
            # The fallback loop gave up and ends itself; a rule then waits for the answer. Reverting the
            # turn here would also undo the loop's end.
            return offer
        # No rule had a next step for this turn: forget it, as if unsaid. The revert comes first: it
        # replays the conversation without the turn, and would drop a slot set before it.
        return [UserUtteranceReverted(), *offer]
