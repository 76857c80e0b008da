"""The one registry of resumable flows: after verification, carry on with what the resident was doing.

Each flow names itself with a `Pending` value when it starts verification (actions/pending.py); this module
maps every value to the coroutine that resumes it. It imports the capabilities, and none of them imports it or
verification, so there is no circle (tests/test_import_cycles.py checks the whole package).
"""

from __future__ import annotations

from typing import Awaitable, Callable, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import complaints, handoff, reporting, safety, tracking
from actions.pending import Pending
from actions.turn_keys import turn_uuid

Flow = Callable[[CollectingDispatcher, Tracker], Awaitable[List[EventType]]]


async def _report(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    return await reporting.start_report(dispatcher, tracker, fresh=False)


async def _emergency(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    key = f"report:{tracker.get_slot('report_id') or turn_uuid(tracker)}"
    return await safety.create_emergency_ticket(
        dispatcher, tracker, category=tracker.get_slot("category") or "other",
        description=tracker.get_slot("description") or "", key=key,
        facts=tracker.get_slot("facts"), answers=tracker.get_slot("fact_answers"),
    )


RESUMABLE: Dict[Pending, Flow] = {
    Pending.REPORT: _report,
    Pending.EMERGENCY: _emergency,
    Pending.STATUS: tracking.check_status,
    Pending.CANCEL: tracking.cancel_repair,
    Pending.REOPEN: tracking.reopen_repair,
    Pending.RATE: tracking.rate_repair,
    Pending.INFORMATION: tracking.add_information,
    Pending.PHOTO: tracking.add_photo,
    Pending.COMPLAINT: complaints.start_complaint,
    Pending.HUMAN: handoff.request_human,
}


async def resume_pending(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    events: List[EventType] = [SlotSet("pending", None)]
    try:
        flow = RESUMABLE[Pending(tracker.get_slot("pending"))]
    except ValueError:  # nothing pending (None), or a name no flow has (an old conversation's)
        dispatcher.utter_message(text="What can I help you with?")
        return events
    events += await flow(dispatcher, tracker)
    # The request an emergency told during verification went before (actions/reporting.start_report).
    try:
        after = RESUMABLE[Pending(tracker.get_slot("pending_after"))]
    except ValueError:
        return events
    return [*events, SlotSet("pending_after", None), *await after(dispatcher, tracker)]
