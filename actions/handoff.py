"""A person when the resident wants one, or when the assistant keeps misunderstanding."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import current_resident, resident_channel
from actions.texts import CATEGORY_NAMES, yes_no

FALLBACK_PHONE = "the council's repairs line"


def contact_line() -> str:
    try:
        council = get_client().council()
    except (ServiceUnavailable, ApiError):
        return f"You can call {FALLBACK_PHONE}. In an emergency out of hours, call the same number."
    return (
        f"You can call the repairs team on {council['repairs_phone']} ({council['opening_hours']}). "
        f"Out of hours, for emergencies only: {council['out_of_hours_phone']}."
    )


def request_human(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    client = get_client()
    try:
        resident = current_resident(client, tracker)
    except ServiceUnavailable:
        dispatcher.utter_message(text=contact_line())
        return []
    if resident is None:
        dispatcher.utter_message(text=contact_line())
        dispatcher.utter_message(
            text="If you'd like someone to call you back, I need to check who you are first.",
            buttons=[{"title": "Yes, call me back", "payload": "/start_verification"}],
        )
        return [SlotSet("pending", "human")]
    reason = tracker.get_slot("description") or tracker.latest_message.get("text") or "Asked for a person in the chat"
    key = f"callback:{tracker.sender_id}:{tracker.latest_message.get('message_id') or uuid.uuid4()}"
    try:
        answer = client.request_callback(resident_channel(tracker), reason, idempotency_key=key)
    except (ServiceUnavailable, ApiError):
        dispatcher.utter_message(text=contact_line())
        return []
    dispatcher.utter_message(text=answer["message"])
    dispatcher.utter_message(text=contact_line())
    return [SlotSet("awaiting", None)]


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return request_human(dispatcher, tracker)


class ActionDefaultAskAffirmation(Action):
    """First stage of the fallback: check what we think they meant, in plain words."""

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        ranking = [r for r in tracker.latest_message.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
        guess = ranking[0]["name"] if ranking else "request_human"
        meaning = _meaning(guess)
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I understood. Did you mean: {meaning}?",
            buttons=[{"title": "Yes", "payload": f"/{guess}"}, {"title": "No", "payload": "/out_of_scope"}],
        )
        return []


def _meaning(intent: str) -> str:
    if intent.startswith("repair_"):
        return f"you want to report a problem with {CATEGORY_NAMES.get(intent[7:], 'something')}"
    return {
        "check_status": "you want to check on a repair",
        "cancel_repair": "you want to cancel a repair",
        "reopen_repair": "a repair isn't fixed",
        "complaint": "you want to make a complaint",
        "request_human": "you want to talk to a person",
        "add_information": "you want to add information to a repair",
        "add_photo": "you want to send a photo",
        "rate_repair": "you want to rate a repair",
    }.get(intent, "something else")


class ActionDefaultFallback(Action):
    """After two misunderstandings: say so honestly and offer a person."""

    def name(self) -> Text:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(
            text="Sorry, I'm still not understanding. Would you like a person from the repairs team to help?",
            buttons=yes_no("Yes, a person please", "No, I'll try again"),
        )
        return [SlotSet("awaiting", "offer_human"), UserUtteranceReverted()]
