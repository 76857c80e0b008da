"""Verify once: tenancy reference and postcode, checked by the repairs service, which then links
the chat to the resident and remembers it. After two failures, explain and offer a person.

Only the service's answer "those details don't match" (a 4xx) is a failure of the resident's. When the
service itself fails (down, timing out, a 5xx, refusing our token), the resident is told it is our fault,
the tenancy reference they gave is kept, sending the postcode again retries, and nothing is counted
towards the two tries."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from repairs_common.gas import mentions_gas
from repairs_common.postcodes import find_postcode
from repairs_common.tenancy_references import find_tenancy_reference

from actions import interruptions, reporting
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.handoff import contact_line
from actions.identity import client_digest, resident_channel, split_channel
from actions.resume import resume_pending
from actions.texts import VERIFY_FAILED_FINALLY, verify_trouble

logger = logging.getLogger(__name__)

MAX_FAILURES = 2
GAVE_UP = "-"  # fills both slots so the form ends; action_after_verification explains


def _answering(tracker: Tracker) -> bool:
    """Is the latest message an answer to our question? The form also runs on the message that led to
    it (say "my tap is leaking"), which is no reference and deserves no "that doesn't look like" reply."""
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
    return not intent.startswith("repair_") and intent not in QUESTIONS_NOT_ANSWERS


QUESTIONS_NOT_ANSWERS = {"check_status", "cancel_repair", "reopen_repair", "complaint", "add_information",
                         "add_photo", "rate_repair", "greet", "start_verification"}


class ValidateVerifyForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_verify_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        # An emergency told at verification's question but read as something other than a repair (a repair
        # intent leaves the form by the rules) is no reference: it is reported as a repair told here is, with its
        # advice at once, and verification goes on for it (actions/interruptions.py says what counts).
        if interruptions.answering_now(tracker, "verify_form"):
            emergency = interruptions.current_gas(tracker) or (
                not interruptions.is_gas(tracker) and await interruptions.emergency_verdict(tracker) is not None)
            if emergency:
                started = await reporting.start_report(dispatcher, tracker, fresh=True)
                # The form is running already: it asks for the reference again, which start_report has cleared.
                return [e for e in started if not (isinstance(e, dict) and e.get("event") == "active_loop")]
        return await super().run(dispatcher, tracker, domain)

    def validate_tenancy_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if mentions_gas(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(response="utter_gas_safety")
        reference = find_tenancy_reference(str(value or ""))
        if reference is None:
            if not _answering(tracker):
                return {"tenancy_reference": None}
            dispatcher.utter_message(
                text="That doesn't look like a tenancy reference. It's a T followed by six numbers, like T-100234."
            )
            return {"tenancy_reference": None}
        return {"tenancy_reference": reference}

    async def validate_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if mentions_gas(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(response="utter_gas_safety")
        postcode = find_postcode(str(value or ""))
        if postcode is None:
            if not _answering(tracker) or not tracker.get_slot("tenancy_reference"):
                return {"postcode": None}
            dispatcher.utter_message(text="That doesn't look like a postcode. Try it like NW1 7AB.")
            return {"postcode": None}
        reference = tracker.get_slot("tenancy_reference")
        if not reference or reference == GAVE_UP:
            return {"postcode": postcode}
        channel, external = split_channel(resident_channel(tracker))
        try:
            resident = await get_client().verify(
                channel=channel, channel_user_id=external, tenancy_reference=reference, postcode=postcode,
                client=client_digest(tracker),
            )
        except ServiceUnavailable as failure:
            # The kind of failure and the service's request id; never the reference or postcode.
            logger.warning("verification not checked: the repairs service failed (%s, request id %s)",
                           failure.kind, failure.request_id or "none")
            dispatcher.utter_message(text=verify_trouble())
            return {"postcode": None}
        except ApiError as exc:
            failures = float(tracker.get_slot("verify_failures") or 0) + 1
            if exc.status == 429:
                dispatcher.utter_message(
                    text="There have been too many tries for now. Please wait a while, or call us."
                )
                return {"tenancy_reference": GAVE_UP, "postcode": GAVE_UP, "verify_failures": float(MAX_FAILURES)}
            if failures >= MAX_FAILURES:
                return {"tenancy_reference": GAVE_UP, "postcode": GAVE_UP, "verify_failures": failures}
            dispatcher.utter_message(
                text="Sorry, those details don't match our records. Let's try once more: check your tenancy "
                "agreement or rent statement for the reference."
            )
            return {"tenancy_reference": None, "postcode": None, "verify_failures": failures}
        dispatcher.utter_message(text=f"Thanks {resident['first_name']}, you're verified. I'll remember this chat.")
        return {"postcode": postcode, "verify_failures": 0.0}


class ActionStartVerification(Action):
    def name(self) -> Text:
        return "action_start_verification"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet("tenancy_reference", None), SlotSet("postcode", None), ActiveLoop("verify_form")]


class ActionAfterVerification(Action):
    """Carry on with what the resident wanted before we asked who they were."""

    def name(self) -> Text:
        return "action_after_verification"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        cleared: List[EventType] = [SlotSet("tenancy_reference", None), SlotSet("postcode", None)]
        if tracker.get_slot("postcode") == GAVE_UP:
            if float(tracker.get_slot("verify_failures") or 0) >= MAX_FAILURES:
                dispatcher.utter_message(text=VERIFY_FAILED_FINALLY)
                dispatcher.utter_message(text=await contact_line())
            return [*cleared, SlotSet("pending", None), SlotSet("pending_after", None), SlotSet("verify_failures", 0.0)]
        return cleared + await resume_pending(dispatcher, tracker)
