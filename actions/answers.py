"""Yes, no, and button presses outside forms answer the last question the assistant asked."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import resident_channel
from actions.texts import yes_no


def _awaiting(tracker: Tracker) -> tuple:
    value = tracker.get_slot("awaiting") or ""
    kind, _, reference = value.partition(":")
    return kind, reference


class ActionHandleAffirm(Action):
    def name(self) -> Text:
        return "action_handle_affirm"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        from actions import complaints, handoff, tracking

        kind, reference = _awaiting(tracker)
        if kind == "cancel" and reference:
            return tracking.do_cancel(dispatcher, tracker, reference)
        if kind == "offer_reopen" and reference:
            return tracking.do_reopen(dispatcher, tracker, reference, tracker.get_slot("description") or "Not fixed")
        if kind == "offer_human":
            return [SlotSet("awaiting", None)] + handoff.request_human(dispatcher, tracker)
        if kind == "retry_report":
            return [SlotSet("awaiting", None), FollowupAction("action_submit_report")]
        if kind == "complaint_confirm":
            return complaints.record_complaint(dispatcher, tracker, tracker.get_slot("description") or "", reference
                                               or None)
        dispatcher.utter_message(text="Great. What can I help you with?")
        return [SlotSet("awaiting", None)]


class ActionHandleDeny(Action):
    def name(self) -> Text:
        return "action_handle_deny"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        from actions import complaints

        kind, reference = _awaiting(tracker)
        if kind == "cancel":
            dispatcher.utter_message(text=f"OK, I've left {reference} as it is.")
        elif kind == "offer_reopen":
            return complaints.record_complaint(dispatcher, tracker, tracker.get_slot("description") or "",
                                               reference or None)
        elif kind == "offer_human":
            dispatcher.utter_message(text="OK. Try telling me in a few words, like \"leaking tap\" or \"check my repair\".")
        elif kind == "retry_report":
            dispatcher.utter_message(response="utter_report_cancelled")
        else:
            dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("awaiting", None)]


class ActionHandleChooseTicket(Action):
    def name(self) -> Text:
        return "action_handle_choose_ticket"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        from actions import tracking

        kind, _ = _awaiting(tracker)
        reference = tracking.mentioned_reference(tracker) or tracker.get_slot("ticket_ref")
        if not reference:
            dispatcher.utter_message(text="Which repair do you mean? Its reference looks like HR-7K3Q9M.")
            return []
        if kind == "cancel":
            dispatcher.utter_message(text=f"Do you want to cancel repair {reference}?",
                                     buttons=yes_no("Yes, cancel it", "No, keep it"))
            return [SlotSet("awaiting", f"cancel:{reference}")]
        if kind == "reopen":
            return tracking.do_reopen(dispatcher, tracker, reference, "Not fixed (said in the chat)")
        if kind == "rate":
            return tracking.ask_rating(dispatcher, reference)
        if kind == "information":
            return [SlotSet("ticket_ref", reference), SlotSet("information_text", None),
                    FollowupAction("information_form")]
        return tracking.check_status(dispatcher, tracker)


class ActionHandleRating(Action):
    def name(self) -> Text:
        return "action_handle_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, reference = _awaiting(tracker)
        score = next((e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "score"),
                     None)
        try:
            score_value = int(score)
        except (TypeError, ValueError):
            score_value = 0
        if kind != "rate" or not reference or not 1 <= score_value <= 5:
            dispatcher.utter_message(text="Which repair would you like to rate? Say \"rate my repair\".")
            return [SlotSet("awaiting", None)]
        try:
            get_client().rate(resident_channel(tracker), reference, score_value)
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_down")
            return []
        except ApiError as exc:
            dispatcher.utter_message(text=exc.detail or "I couldn't record that rating.")
            return [SlotSet("awaiting", None)]
        dispatcher.utter_message(text="Thank you for rating the repair. It helps us improve.")
        return [SlotSet("awaiting", None)]
