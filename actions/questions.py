"""What the forms ask, one `action_ask_<slot>` per question.

The questions live here rather than as `utter_ask_<slot>` responses in the domain: Rasa 3.6's
`rasa data validate` counts a response as used only when a story or rule names it, so responses that
only forms say would be reported as unused, and the data would not validate cleanly.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.texts import VERIFY_TROUBLE_START, yes_no

QUESTIONS: Dict[str, str] = {
    "tenancy_reference": (
        "First I need to check who you are. What's your tenancy reference? It starts with T- and is on your "
        "tenancy agreement or rent statement (for example T-100234)."
    ),
    "postcode": "Thanks. And what's the postcode of your home?",
    "place": (
        "Where is the problem? For example the kitchen, bathroom or bedroom, or a shared area like the "
        "stairwell, lift or bin store."
    ),
    "details": "Tell me a bit more: what's happening, and since when?",
    "access": (
        "When can we get in to do the work? For example \"weekday mornings\" or \"any time after 10\". Say if "
        "there's anything our operative should know (a dog, a key safe, parking)."
    ),
    "vulnerable_present": (
        "Is anyone in your home elderly, disabled, unwell, pregnant, or a baby or young child? It helps us decide "
        "how quickly to come."
    ),
    "information_text": "What would you like to add? Just type it in one message.",
}
BUTTONS: Dict[str, List[Dict[str, Any]]] = {"vulnerable_present": yes_no()}


def _question(slot: str) -> type:
    text, buttons = QUESTIONS[slot], BUTTONS.get(slot)

    class _Ask(Action):
        def name(self) -> Text:
            return f"action_ask_{slot}"

        async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: Dict[Text, Any]) -> List[EventType]:
            if slot == "postcode" and _said_this_turn(tracker, VERIFY_TROUBLE_START):
                return []  # the apology for our failure has just asked for the postcode again
            dispatcher.utter_message(text=text, buttons=_copy(buttons))
            return []

    _Ask.__name__ = "ActionAsk" + "".join(part.title() for part in slot.split("_"))
    return _Ask


def _said_this_turn(tracker: Tracker, start: str) -> bool:
    """Has the assistant said something starting with `start` since the resident's latest message?"""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and str(event.get("text") or "").startswith(start):
            return True
    return False


def _copy(buttons: Optional[List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    return [dict(b) for b in buttons or []]


ActionAskTenancyReference = _question("tenancy_reference")
ActionAskPostcode = _question("postcode")
ActionAskPlace = _question("place")
ActionAskDetails = _question("details")
ActionAskAccess = _question("access")
ActionAskVulnerablePresent = _question("vulnerable_present")
ActionAskInformationText = _question("information_text")
