"""What the resident was doing when the assistant had to ask who they are, and the events that ask.

A leaf: every capability that needs a verified resident starts verification through here, naming the flow to
carry on with afterwards (the `pending` slot), and actions/resume.py maps each name back to its flow. Keeping
the names and the asking apart from the flows is what lets verification resume any of them without the
modules importing each other in a circle.
"""

from __future__ import annotations

from enum import Enum
from typing import List

from rasa_sdk.events import ActiveLoop, EventType, SlotSet


class Pending(str, Enum):
    """The flows verification can hand back to; the value is what the `pending` slot holds."""

    REPORT = "report"
    EMERGENCY = "emergency"
    STATUS = "status"
    CANCEL = "cancel"
    REOPEN = "reopen"
    RATE = "rate"
    INFORMATION = "information"
    PHOTO = "photo"
    COMPLAINT = "complaint"
    HUMAN = "human"


def start_verification(pending: Pending) -> List[EventType]:
    """Ask who they are, then carry on with `pending` (see action_after_verification).

    The form is activated by the event, not forced with a FollowupAction: Rasa runs an active form
    next by its own rules, so the dialogue stays visible to the policy and to `rasa test` stories."""
    return [
        SlotSet("pending", pending.value),
        SlotSet("tenancy_reference", None),
        SlotSet("postcode", None),
        ActiveLoop("verify_form"),
    ]
