"""The information form's answers ("What would you like to add?"): an emergency told there stops it
(actions/interruptions.py), and gas words taken as the answer still get the gas advice first."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import interruptions


class ValidateInformationForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_information_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        interrupted = await interruptions.interrupt(dispatcher, tracker, "information_form")
        if interrupted is not None:
            return interrupted
        return await super().run(dispatcher, tracker, domain)

    def validate_information_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if interruptions.is_gas(tracker):
            dispatcher.utter_message(response="utter_gas_safety")
        return {"information_text": value}
