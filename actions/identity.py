"""Who the resident is, as far as the actions are concerned: the chat the bot vouches for.

The sender id is set by the channel edge (the bot), never by what the resident types, so it is
the one thing an action can rely on; the repairs service decides, for that chat, which resident
it belongs to and what they may see. Slots are never trusted for identity or ownership.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

from actions.client import ApiError, RepairsClient

_CHANNEL_ID = re.compile(r"^(telegram|web|whatsapp|sms):[\x21-\x7e]{1,128}$")


def resident_channel(tracker: Tracker) -> str:
    """`channel:id` for the repairs service. Senders from tools such as `rasa shell` or `rasa test`
    have no channel prefix; they count as web chats."""
    sender = tracker.sender_id or "anonymous"
    if _CHANNEL_ID.match(sender):
        return sender
    cleaned = re.sub(r"[^\x21-\x7e]", "_", sender)[:120] or "anonymous"
    return f"web:{cleaned}"


def split_channel(identity: str) -> tuple:
    channel, _, external = identity.partition(":")
    return channel, external


def current_resident(client: RepairsClient, tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The verified resident for this chat, or None. Raises ServiceUnavailable if the service is down."""
    try:
        return client.me(resident_channel(tracker))
    except ApiError:
        return None
