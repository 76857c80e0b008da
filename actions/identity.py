"""Who the resident is, as far as the actions are concerned: the chat the bot vouches for.

The sender id is set by the channel edge (the bot), never by what the resident types, so it is
the one thing an action can rely on; the repairs service decides, for that chat, which resident
it belongs to and what they may see. Slots are never trusted for identity or ownership.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from repairs_common.channels import identity_for_sender, parse_channel_identity

from actions.client import ApiError, RepairsClient


def resident_channel(tracker: Tracker) -> str:
    """`channel:id` for the repairs service. Senders from tools such as `rasa shell` or `rasa test`
    have no channel prefix; they count as web chats."""
    return identity_for_sender(tracker.sender_id)


_CLIENT_DIGEST = re.compile(r"[A-Za-z0-9_-]{16,128}")


def client_digest(tracker: Tracker) -> Optional[str]:
    """The bot's keyed digest of the web chat client's address, from the latest turn's metadata (which the
    bot signed with the turn, so a resident cannot set it). None for Telegram, whose chat is the client."""
    value = ((tracker.latest_message or {}).get("metadata") or {}).get("client")
    return value if isinstance(value, str) and _CLIENT_DIGEST.fullmatch(value) else None


def split_channel(identity: str) -> tuple:
    parsed = parse_channel_identity(identity)
    return parsed.channel, parsed.external_id


async def current_resident(client: RepairsClient, tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The verified resident for this chat, or None when the service says the chat is not verified. Raises
    ServiceUnavailable when the service fails (down, a 5xx, our token refused): that is no answer about the
    resident, and taking it for "not verified" would send them through verification for our fault."""
    try:
        return await client.me(resident_channel(tracker))
    except ApiError:
        return None
