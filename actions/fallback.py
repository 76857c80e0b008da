"""The fallback's first stage, "Did you mean ...?", with safety first: words the NLU could not place can still
describe an emergency ("yes please. water is pouring in through the ceiling" has come back as nlu_fallback, in
a form or out of one). Gas gets the gas advice, and another emergency the policy's advice and the out-of-hours
line, before the question; nothing is logged here, because a "yes" to the question reports the same words
(Rasa's two-stage fallback puts them back with the intent confirmed) and that report logs it."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, interruptions, usage
from actions.texts import ASK_REPHRASE


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
