"""Emergencies. A gas smell or a carbon monoxide alarm gets the safety instructions first, every time,
even when the repairs service is down; then an emergency ticket once we know who the resident is."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

# The one gas and carbon monoxide detector, shared with the repairs service's policy. It needs no network,
# so the safety text never waits for the service; the other actions ask it through this module.
from repairs_common.gas import gas_made_safe, mentions_gas

from actions import digressions
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.excerpt import report_excerpt
from actions.fact_questions import message_facts
from actions.identity import current_resident, resident_channel
from actions.pending import Pending, start_verification
from actions.texts import service_down
from actions.turn_keys import turn_key

# The forms a verified resident fills in, which an emergency pauses rather than ends (actions/interruptions.py).
PAUSABLE = ("report_form", "information_form")

__all__ = ["ActionEmergency", "create_emergency_ticket", "mentions_gas", "out_of_hours_text"]


def out_of_hours_text(council: Dict[str, Any]) -> str:
    return (
        f"For other emergencies outside office hours, call {council.get('out_of_hours_phone', 'the repairs line')}. "
        "If anyone is in danger, call 999."
    )


async def create_emergency_ticket(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, category: str, description: str, key: str,
    facts: Optional[Dict[str, Any]] = None, answers: Optional[Dict[str, Any]] = None,
) -> List[EventType]:
    """Log the emergency for a verified resident; say what happens next. `facts` and `answers`, when the
    assistant has them, go with it so the ticket records what its priority rests on.

    A gas leak the words say has been made safe ("Cadent came and capped it") had the advice first, as every gas
    word does, but is not reported as an emergency: its priority is the policy's (repairs/policy/engine.py reads
    the same words and facts), and the reply says the priority the ticket got."""
    client = get_client()
    made_safe = category == "gas" and gas_made_safe(description)
    body: Dict[str, Any] = {
        "category": category,
        "description": description[:4000] or "Emergency reported in the chat",
        "reported_emergency": not made_safe,
        "location_type": "in_home",
        "conversation": report_excerpt(tracker.events) or None,
    }
    if facts is not None:
        body["facts"] = facts
        if answers:
            body["answers"] = answers
    try:
        ticket = await client.create_ticket(resident_channel(tracker), body, idempotency_key=key)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    except ApiError as exc:
        dispatcher.utter_message(
            text=f"I couldn't log it just now ({exc.detail or exc.code}). Please call the repairs line."
        )
        return []
    if ticket.get("priority") == "emergency":
        dispatcher.utter_message(
            text=(
                f"I've logged this as an emergency: {ticket['reference']}. We aim to make it safe "
                f"{ticket['due_text']}. An officer will be in touch."
            )
        )
    else:
        dispatcher.utter_message(
            text=(
                f"As it has been made safe, I've logged it as a {ticket['priority']} priority repair: "
                f"{ticket['reference']}. We aim to fix it {ticket['due_text']}. If you smell gas again, call "
                "0800 111 999 straight away."
            )
        )
    return [SlotSet("last_ticket_ref", ticket["reference"])]


class ActionEmergency(Action):
    """Gas or carbon monoxide: the emergency ticket (after verification if needed).

    The safety advice comes before this action, from the rules (`utter_gas_safety`): Rasa says it
    itself, so it is the first reply even when this action server is down."""

    def name(self) -> Text:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        ended: List[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        events: List[EventType] = [
            *ended,
            SlotSet("description", text[:4000]),
            SlotSet("category", "gas"),
            # This message's facts, not an earlier report's, go with the ticket.
            SlotSet("facts", message_facts(tracker)),
            SlotSet("fact_answers", None),
        ]
        client = get_client()
        try:
            resident = await current_resident(client, tracker)
        except ServiceUnavailable:
            dispatcher.utter_message(
                text="Our repairs system isn't answering right now, so please also call the repairs line once you "
                "are safe."
            )
            return events
        key = f"emergency:{turn_key(tracker)}"
        if resident is None:
            logged_as = "a repair" if gas_made_safe(text) else "an emergency repair"
            dispatcher.utter_message(
                text=f"Once you're safe, I can log this as {logged_as} for you. I just need to check who you are."
            )
            return [*events, SlotSet("report_id", key), *start_verification(Pending.EMERGENCY)]
        logged = await create_emergency_ticket(dispatcher, tracker, category="gas", description=text, key=key,
                                               facts=message_facts(tracker))
        # A report or an addition the gas interrupted (running, or already paused by a digression) keeps what the
        # resident gave, and is offered back once the emergency is logged, as for any other emergency.
        form = tracker.active_loop_name if tracker.active_loop_name in PAUSABLE else digressions.paused_form(tracker)
        if form is not None and form in PAUSABLE:
            asked = None if tracker.active_loop_name == form else digressions.paused_question(tracker)
            return [*ended, *logged, *digressions.offer_to_carry_on(dispatcher, tracker, form, asked)]
        return events + logged
