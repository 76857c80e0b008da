"""How the assistant is used, counted in the repairs service (POST /api/v1/assistant/usage) for the officers'
reports: messages not understood (and conversations with at least one), and requests for a person. Counts
and the channel's name only: never the chat, the resident or their words.

Conversations begun are not counted here but by the repairs service, as the bot's channel edges pass each
resident's message on (repairs/usage/conversations.py: a chat idle for Rasa's session expiry begins a new
one). A custom action_session_start would make every conversation's first message depend on the action
server (tried, and a greeting then got no answer with it down)."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from repairs_common.channels import ChannelIdentityError, parse_channel_identity

from actions.client import ApiError, ServiceUnavailable, get_client

log = logging.getLogger(__name__)

# The actions that answer a message the assistant did not understand.
MISUNDERSTOOD_ACTIONS = ("action_two_stage_fallback", "action_default_ask_affirmation", "action_default_ask_rephrase",
                         "action_default_fallback")


def channel_of(tracker: Tracker) -> Text:
    try:
        return parse_channel_identity(tracker.sender_id or "").channel
    except ChannelIdentityError:
        return "other"


async def count(tracker: Tracker, event: Text) -> None:
    try:
        await get_client().count_usage(event, channel_of(tracker))
    except (ServiceUnavailable, ApiError) as exc:
        log.info("usage not counted (%s): %s", event, exc)


def _this_session(tracker: Tracker) -> List[Dict[Text, Any]]:
    events = list(tracker.events or [])
    starts = [i for i, e in enumerate(events) if e.get("event") == "session_started"]
    return events[starts[-1] + 1:] if starts else events


async def count_misunderstanding(tracker: Tracker) -> None:
    """One more message not understood; and, the first time in this conversation, one more conversation
    with a misunderstanding (the action now running is not in the tracker's events yet)."""
    await count(tracker, "misunderstood")
    earlier = any(e.get("event") == "action" and e.get("name") in MISUNDERSTOOD_ACTIONS for e in _this_session(tracker))
    if not earlier:
        await count(tracker, "misunderstood_conversation")
