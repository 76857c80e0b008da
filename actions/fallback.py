"""The fallback's first stage, "Did you mean ...?", with safety first: words the NLU could not place can still
describe an emergency ("yes please. water is pouring in through the ceiling" has come back as nlu_fallback, in
a form or out of one). Gas gets the gas advice, and another emergency the policy's advice and the out-of-hours
line, before the question; nothing is logged here, because a "yes" to the question reports the same words and
that report logs it.

Rasa's two-stage fallback does not put those words back: on "Yes" it repeats the button's own message
("/repair_plumbing") with the intent confirmed (rasa/core/actions/two_stage_fallback.py, _message_clarification).
An action then sees no words to describe, assess or log, and an emergency became an ordinary report.
`restore_confirmed_words` gives every action of that turn the resident's words back (the action server applies it
to each call, action_server/app.py), with the intent the resident confirmed."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, interruptions, usage
from actions.texts import ASK_REPHRASE

FALLBACK_LOOP = "action_two_stage_fallback"
NOT_CONFIRMING = frozenset({"nlu_fallback", "out_of_scope", "deny"})


def confirmed_words(tracker: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The parse of the words a "Yes" to "Did you mean ...?" confirmed, when the latest message (in Rasa's
    tracker state, as an action call carries it) is that confirmation; else None.

    The confirmation is the fallback loop's clarification: the button's message repeated right after a rewind
    (UserUtteranceReverted, then action_listen). The words are the typed message the loop ran for, the last one
    before it, which the NLU could not place. Only that turn is the confirmation's: a later tap is itself."""
    latest = tracker.get("latest_message") or {}
    if not str(latest.get("text") or "").startswith("/"):
        return None  # typed words (a rephrasing) are their own words
    if str((latest.get("intent") or {}).get("name") or "") in NOT_CONFIRMING:
        return None
    events = list(tracker.get("events") or [])
    last_user = next((i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"), None)
    if last_user is None or last_user < 2:
        return None
    before = events[last_user - 1], events[last_user - 2]
    if not (before[0].get("event") == "action" and before[0].get("name") == "action_listen"
            and before[1].get("event") == "rewind"):
        return None
    loop_ran = False
    for event in reversed(events[:last_user]):
        if event.get("event") == "action" and event.get("name") == FALLBACK_LOOP:
            loop_ran = True
        elif event.get("event") == "user" and not str(event.get("text") or "").startswith("/"):
            parse = event.get("parse_data") or {}
            unplaced = (parse.get("intent") or {}).get("name") == "nlu_fallback"
            return dict(parse) if loop_ran and unplaced and parse.get("text") else None
    return None


def restore_confirmed_words(tracker: Dict[str, Any]) -> None:
    """Put the confirmed words back as the latest message (in place), keeping the intent the resident confirmed
    and the turn's own id and metadata."""
    words = confirmed_words(tracker)
    if words is None:
        return
    latest = tracker["latest_message"]
    tracker["latest_message"] = {**words, "intent": latest.get("intent"),
                                 "intent_ranking": latest.get("intent_ranking") or [latest.get("intent")],
                                 "message_id": latest.get("message_id"), "metadata": latest.get("metadata")}


class ActionNotUnderstoodInForm(Action):
    """Words the NLU could not place at a report's question that is answered with a button ("what?", "hang on",
    "that's all" at "Is that right?"). The two-stage fallback would take the form's place as the active loop, and
    when it ended the report was gone without a word (two in a row offered a person instead). So the rules run
    this in the form, and the form asks its question again. An emergency in such words never reaches here: the
    form's validation has already advised, logged it and paused the report (actions/interruptions.py). At a
    question that takes free text, the form takes such words as the answer before any rule runs."""

    def name(self) -> Text:
        return "action_not_understood_in_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        await usage.count_misunderstanding(tracker)
        dispatcher.utter_message(text="Sorry, I didn't catch that.")
        return []


class ActionDefaultAskAffirmation(Action):
    """First stage of the fallback: check what we think they meant, in plain words."""

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        await usage.count_misunderstanding(tracker)
        await interruptions.advise(dispatcher, tracker)
        # Only a request is worth checking ("Did you mean: something else?" helps nobody), and only one
        # of the few likeliest; otherwise ask them to say it another way.
        ranking = [str(r.get("name")) for r in (tracker.latest_message.get("intent_ranking") or [])[:4]]
        guess = next((name for name in ranking if handoff.meaning(name)), None)
        if guess is None:
            dispatcher.utter_message(text=ASK_REPHRASE)
            return []
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I understood. Did you mean: {handoff.meaning(guess)}?",
            buttons=[{"title": "Yes", "payload": f"/{guess}"}, {"title": "No", "payload": "/out_of_scope"}],
        )
        return []
