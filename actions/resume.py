"""After verification, carry on with what the resident was doing."""

from __future__ import annotations

import uuid
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher


def resume_pending(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    pending = tracker.get_slot("pending")
    events: List[EventType] = [SlotSet("pending", None)]
    if pending == "report":
        from actions.reporting import start_report

        return events + start_report(dispatcher, tracker, fresh=False)
    if pending == "emergency":
        from actions.safety import create_emergency_ticket

        key = f"report:{tracker.get_slot('report_id') or uuid.uuid4()}"
        return events + create_emergency_ticket(
            dispatcher, tracker, category=tracker.get_slot("category") or "other",
            description=tracker.get_slot("description") or "", key=key,
            facts=tracker.get_slot("facts"), answers=tracker.get_slot("fact_answers"),
        )
    from actions import tracking

    resumers = {
        "status": tracking.check_status,
        "cancel": tracking.cancel_repair,
        "reopen": tracking.reopen_repair,
        "rate": tracking.rate_repair,
        "information": tracking.add_information,
        "photo": tracking.add_photo,
        "complaint": tracking.complaint,
        "human": tracking.request_human,
    }
    if pending in resumers:
        return events + resumers[pending](dispatcher, tracker)
    dispatcher.utter_message(text="What can I help you with?")
    return events
