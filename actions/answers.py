"""Yes, no, and short answers (typed or tapped) outside forms answer the last question the assistant asked."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import complaints, digressions, dissatisfaction, fact_questions, handoff, shared_faults, tracking
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import resident_channel
from actions.reporting import answer_fact, chosen_category, start_report
from actions.texts import ANYTHING_ELSE, ASK_REPHRASE, REPORT_CANCELLED, service_down, yes_no


def _awaiting(tracker: Tracker) -> tuple:
    value = tracker.get_slot("awaiting") or ""
    kind, _, reference = value.partition(":")
    return ("rate" if kind == "rate_fixed" else kind), reference


def _said_fixed(tracker: Tracker) -> Optional[bool]:
    """True when the rating being asked for follows "Yes, it's fixed" (see tracking.ask_rating)."""
    return True if (tracker.get_slot("awaiting") or "").startswith("rate_fixed:") else None


# A bare "yes" or "no" ("I don't know", "not sure") to a form's question that wants words ("Where is the
# problem?"): the form does not take it, and the question comes again after this (the form is still running).
# "What can I help you with?" here would read as if the report had gone.
WORDS_WANTED = "I need a few words for this one."
NOT_SURE = "That's OK if you're not sure: tell me as best you can, in a few words."


def _question_wants_words(tracker: Tracker, kind: str) -> bool:
    return tracker.active_loop_name in digressions.FORMS and not kind


class ActionHandleAffirm(Action):
    def name(self) -> Text:
        return "action_handle_affirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        kind, reference = _awaiting(tracker)
        if kind == fact_questions.AWAITING:
            return await answer_fact(dispatcher, tracker, said=True)
        if _question_wants_words(tracker, kind):
            dispatcher.utter_message(text=WORDS_WANTED)
            return []
        paused = digressions.paused_form(tracker)
        if paused:
            return digressions.carry_on(paused)
        if kind == handoff.OFFER_CALLBACK:
            return await handoff.book_callback(dispatcher, tracker, "Asked for a call back in the chat")
        if shared_faults.is_offer(kind) and reference:
            return await shared_faults.join(dispatcher, tracker, reference)
        if kind == "cancel" and reference:
            return await tracking.do_cancel(dispatcher, tracker, reference)
        if kind == "offer_reopen" and reference:
            return await tracking.send_back(dispatcher, tracker, reference,
                                            tracker.get_slot("description") or "Not fixed")
        if kind == "offer_human":
            return [SlotSet("awaiting", None), *await handoff.request_human(dispatcher, tracker)]
        if kind == "retry_report":
            return [SlotSet("awaiting", None), FollowupAction("action_submit_report")]
        if kind == dissatisfaction.AWAITING:
            return await complaints.log_offered(dispatcher, tracker)
        dispatcher.utter_message(text="Great. What can I help you with?")
        return [SlotSet("awaiting", None)]


class ActionHandleDeny(Action):
    def name(self) -> Text:
        return "action_handle_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        kind, reference = _awaiting(tracker)
        if kind == fact_questions.AWAITING:
            return await answer_fact(dispatcher, tracker, said=False)
        if _question_wants_words(tracker, kind):
            dispatcher.utter_message(text=NOT_SURE)
            return []
        paused = digressions.paused_form(tracker)
        if paused:
            return digressions.leave(dispatcher, paused)
        if shared_faults.is_offer(kind):
            return shared_faults.decline(dispatcher, tracker)
        if kind == "cancel":
            dispatcher.utter_message(text=f"OK, I've left {reference} as it is.")
        elif kind == "offer_reopen":
            return await complaints.record_complaint(dispatcher, tracker, tracker.get_slot("description") or "",
                                                     reference or None)
        elif kind == "offer_human":
            dispatcher.utter_message(
                text="OK. Try telling me in a few words, like \"leaking tap\" or \"check my repair\"."
            )
        elif kind == handoff.OFFER_CALLBACK:
            dispatcher.utter_message(text=ANYTHING_ELSE)
        elif kind == "retry_report":
            dispatcher.utter_message(text=REPORT_CANCELLED)
        elif kind == dissatisfaction.AWAITING:
            return dissatisfaction.declined(dispatcher)
        else:
            dispatcher.utter_message(text=ANYTHING_ELSE)
        return [SlotSet("awaiting", None)]


_TYPED_SCORE = re.compile(r"^\s*([1-5])\s*(stars?|/\s*5|out of 5)?\s*[.!]?\s*$", re.IGNORECASE)


def _score(tracker: Tracker) -> Optional[int]:
    """A rating from the star buttons (`/inform{"score": 4}`) or typed as "4", "4 stars" or "4/5"."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "score":
            try:
                score = int(entity.get("value"))
            except (TypeError, ValueError):
                return None
            return score if 1 <= score <= 5 else None
    match = _TYPED_SCORE.match(tracker.latest_message.get("text") or "")
    return int(match.group(1)) if match else None


class ActionHandleAnswer(Action):
    """A short answer outside a form (`inform`): a repair reference, a star rating or a category.

    It answers the last question asked ("Which repair?", "How did we do?"). With no question
    pending, a reference means "how is this one doing?" and a category starts a report."""

    def name(self) -> Text:
        return "action_handle_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        kind, asked_about = _awaiting(tracker)
        if kind == fact_questions.AWAITING:
            return await answer_fact(dispatcher, tracker)
        paused = digressions.paused_form(tracker)
        if paused:
            # An answer to the paused form's question, typed instead of "yes", is that answer (a button from
            # before the pause is not: the form carries on and asks again).
            answer = digressions.typed_answer(tracker)
            return digressions.carry_on_with_answer(paused, answer) if answer else digressions.carry_on(paused)
        score = _score(tracker)
        if kind == "rate" and asked_about and score:
            return await _rate(dispatcher, tracker, asked_about, score)
        reference = tracking.mentioned_reference(tracker)
        if reference:
            if kind == "cancel":
                dispatcher.utter_message(text=f"Do you want to cancel repair {reference}?",
                                         buttons=yes_no("Yes, cancel it", "No, keep it"))
                return [SlotSet("awaiting", f"cancel:{reference}")]
            if kind == "reopen":
                return await tracking.do_reopen(dispatcher, tracker, reference, "Not fixed (said in the chat)")
            if kind == "rate":
                return tracking.ask_rating(dispatcher, reference)
            if kind == "information":
                return [SlotSet("awaiting", None), *tracking.collect_information(reference)]
            return [SlotSet("awaiting", None), *await tracking.check_status(dispatcher, tracker)]
        if chosen_category(tracker):
            return await start_report(dispatcher, tracker, fresh=True)
        if kind == "rate":
            dispatcher.utter_message(text="Please give a score from 1 to 5, where 5 is excellent.")
            return []
        dispatcher.utter_message(text=ASK_REPHRASE)
        return []


async def _rate(dispatcher: CollectingDispatcher, tracker: Tracker, reference: str, score: int) -> List[EventType]:
    try:
        await get_client().rate(resident_channel(tracker), reference, score, fixed=_said_fixed(tracker))
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    except ApiError as exc:
        dispatcher.utter_message(text=exc.detail or "I couldn't record that rating.")
        return [SlotSet("awaiting", None)]
    dispatcher.utter_message(text="Thank you for rating the repair. It helps us improve.")
    return [SlotSet("awaiting", None)]
