"""Shared faults: a report about a shared part of the block (a lift, stair lights, the door entry, a bin chute)
that matches a fault already reported there is offered as "me too" instead of a second report. Yes links the
household to the existing ticket (they hear when it is fixed); no carries on with the report as usual."""

from datetime import datetime
from typing import Any, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import resident_channel
from actions.texts import service_down

AWAITING = "metoo"
REPORT_SLOTS = ("report_id", "description", "category", "category_confirmed", "place", "details", "access",
                "vulnerable_present", "report_confirmed", "location_type", "report_request")


def _day(iso: Text) -> Text:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%-d %B")
    except ValueError:
        return "recently"


async def offer(dispatcher: CollectingDispatcher, tracker: Tracker, client: Any,
                category: Text) -> Optional[List[EventType]]:
    """Offer the oldest open fault of this kind in the resident's block, or None to report as usual (also
    when the service cannot say: a second report beats a lost one)."""
    try:
        faults = await client.shared_faults(resident_channel(tracker), category)
    except (ServiceUnavailable, ApiError):
        return None
    if not faults:
        return None
    fault = faults[0]
    others = int(fault.get("households") or 1)
    neighbours = "1 household has" if others == 1 else f"{others} households have"
    where = f" ({fault['location']})" if fault.get("location") else ""
    dispatcher.utter_message(
        text=f"This may already be reported: \"{fault['summary']}\"{where}, reported on {_day(fault['reported_at'])} "
        f"as {fault['reference']}. {neighbours} told us so far. {fault['status_text']}\n"
        "Is it the same problem?",
        buttons=[{"title": "Yes, same problem", "payload": "/affirm"},
                 {"title": "No, something else", "payload": "/deny"}],
    )
    return [SlotSet("awaiting", f"{AWAITING}:{fault['reference']}")]


async def join(dispatcher: CollectingDispatcher, tracker: Tracker, reference: Text) -> List[EventType]:
    """Yes, the same problem: the household is linked to the fault and the report ends there."""
    try:
        fault = await get_client().me_too(resident_channel(tracker), reference)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []  # still awaiting: "yes" again later tries once more
    except ApiError:
        # Fixed or closed in the meantime: report it as new instead.
        dispatcher.utter_message(text=f"{reference} has just been closed, so I'll take your report as a new one.")
        return decline(dispatcher, tracker, quiet=True)
    households = int(fault.get("households") or 1)
    dispatcher.utter_message(
        text=f"Thank you. I've added your household to {reference}: {households} households are affected. "
        f"We aim to fix it {fault['due_text']}, and we'll message you here when it's fixed."
    )
    return [SlotSet(slot, None) for slot in REPORT_SLOTS] + [SlotSet("awaiting", None)]


def decline(dispatcher: CollectingDispatcher, tracker: Tracker, *, quiet: bool = False) -> List[EventType]:
    """Not the same problem: carry on with the report, where the form takes over."""
    if not quiet:
        dispatcher.utter_message(text="OK, I'll report it as a new problem.")
    return [SlotSet("awaiting", None), ActiveLoop("report_form")]


def is_offer(kind: Text) -> bool:
    return kind == AWAITING


