"""Complaints under the Housing Ombudsman code. "Not fixed" and "nobody came" are most often a repair
that needs doing again: offer to reopen first, then record the complaint if that is what they want.

A message the dissatisfaction detector took as a complaint although it read as small talk ("you lot are
useless", rasa_components/dissatisfaction_detector.py) did not ask for one: it is offered, not recorded."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import dissatisfaction, interruptions
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import current_resident, resident_channel
from actions.pending import Pending, start_verification
from actions.texts import service_down, yes_no
from actions.tracking import STILL_OPEN, mentioned_reference
from actions.turn_keys import turn_key

_NOT_FIXED = re.compile(
    r"\b(not (been )?fixed|still (not|isnt|isn't|broken|leaking|not working)|nobody (came|turned up|showed)|"
    r"no one (came|turned up|showed)|didn'?t (turn up|come|fix)|never (came|turned up|showed)|broken again|"
    r"same problem|keeps happening)\b",
    re.IGNORECASE,
)


ALREADY_OFFERED = ("I'm sorry to hear that. If you'd like to make a formal complaint, say \"make a complaint\" "
                   "and I'll record it.")


async def start_complaint(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    if dissatisfaction.rerouted(tracker.latest_message or {}):
        offered = dissatisfaction.offer(dispatcher, tracker, [])
        if not offered:
            dispatcher.utter_message(text=ALREADY_OFFERED)
        return offered
    client = get_client()
    text = tracker.latest_message.get("text") or ""
    try:
        resident = await current_resident(client, tracker)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    if resident is None:
        dispatcher.utter_message(text="I'm sorry things have gone wrong. I'll need to check who you are first.")
        return [SlotSet("description", text[:4000]), *start_verification(Pending.COMPLAINT)]
    complaint_text = text if tracker.latest_message.get("intent", {}).get("name") == "complaint" else (
        tracker.get_slot("description") or text
    )
    reference = mentioned_reference(tracker)
    if _NOT_FIXED.search(complaint_text):
        target = reference or await _latest_repair(client, tracker)
        if target:
            dispatcher.utter_message(
                text=f"I'm sorry. Would you like me to send someone back for {target}? "
                "Or I can record a formal complaint.",
                buttons=yes_no("Reopen the repair", "Make a complaint"),
            )
            return [SlotSet("awaiting", f"offer_reopen:{target}"), SlotSet("description", complaint_text[:4000])]
    return await record_complaint(dispatcher, tracker, complaint_text, reference)


async def log_offered(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """"Yes" to the offer of a complaint (actions/dissatisfaction.py): record the words that were offered, once
    the resident is verified (verification carries on here with them, see Pending.COMPLAINT)."""
    _, _, reference = (tracker.get_slot("awaiting") or "").partition(":")
    text = tracker.get_slot("description") or ""
    try:
        resident = await current_resident(get_client(), tracker)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    if resident is None:
        dispatcher.utter_message(text="I'll need to check who you are first.")
        return [SlotSet("awaiting", None), SlotSet("description", text), *start_verification(Pending.COMPLAINT)]
    return await record_complaint(dispatcher, tracker, text, reference or None)


async def _latest_repair(client: Any, tracker: Tracker) -> Optional[str]:
    """The repair a "not fixed" complaint is most likely about: the latest finished one (it can be
    reopened), else the latest still open ("nobody came"; tracking.send_back passes the words on)."""
    try:
        # A complaint is about the resident's own report, not a neighbour's they are linked to.
        tickets = await client.list_tickets(resident_channel(tracker), status="all", limit=10, include_linked=False)
    except (ServiceUnavailable, ApiError):
        return None
    candidates = [t for t in tickets if t.get("can_reopen")] or [t for t in tickets if t.get("status") in STILL_OPEN]
    return str(candidates[0]["reference"]) if candidates else None


async def record_complaint(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, reference: Optional[str]
) -> List[EventType]:
    key = f"complaint:{turn_key(tracker)}"
    try:
        complaint = await get_client().complain(resident_channel(tracker), text or "Complaint made in the chat",
                                          reference=reference, idempotency_key=key)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    except ApiError:
        dispatcher.utter_message(text="Sorry, I couldn't record that. Please call the repairs line.")
        return []
    # The council's own timescales, as the service worked them out (not numbers written here).
    acknowledge = complaint.get("acknowledge_by_text") or "within 5 working days"
    if complaint.get("stage") == 2:
        # A complaint about a repair whose complaint was answered lately: the service took it to stage 2.
        text = (f"You told us you're not satisfied with our answer, so your complaint {complaint['reference']} "
                f"is now at stage 2: a senior officer will review it. We'll acknowledge it {acknowledge} and "
                f"send you our final answer {complaint['respond_by_text']}.")
    else:
        text = (f"I've recorded your complaint: {complaint['reference']}. This is stage 1 of our complaints "
                f"process. We'll acknowledge it {acknowledge} and send you a full answer "
                f"{complaint['respond_by_text']}.")
    dispatcher.utter_message(text=text)
    return [SlotSet("awaiting", None), SlotSet("description", None)]


class ActionComplaint(Action):
    def name(self) -> Text:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        # An emergency told as a complaint gets its safety advice before anything about the complaint. (Not in
        # start_complaint: after verification it runs again on the postcode, with the advice already given.)
        safety = await interruptions.advise_first(dispatcher, tracker)
        return [*safety, *await start_complaint(dispatcher, tracker)]
