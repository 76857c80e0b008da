"""Who a resident's chat is, written `<channel>:<id>` ('telegram:12345', 'web:3f9c...').

The channel edge (the bot) names each chat this way and gives the name to Rasa as the sender id; the actions
pass it to the repairs service in `X-Resident-Channel`, which links it to a resident once they verify. All
three read and write it through this module, so a name one of them accepts the others accept too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The channels a resident can chat on. A ticket's source can be more (phone, e-mail, Open311), but only these
# carry a chat that can be linked to a resident.
RESIDENT_CHANNELS: tuple[str, ...] = ("telegram", "web", "whatsapp", "sms")
# Senders with no channel prefix (`rasa shell`, `rasa test`) are treated as web chats.
DEFAULT_CHANNEL = "web"
MAX_EXTERNAL_ID = 128
# Printable ASCII without spaces: a Telegram chat id, a web chat session id, a phone number in E.164.
_ALLOWED = r"[\x21-\x7e]"
EXTERNAL_ID_PATTERN = rf"^{_ALLOWED}{{1,{MAX_EXTERNAL_ID}}}$"  # for schemas that take a pattern
_EXTERNAL_ID = re.compile(rf"{_ALLOWED}{{1,{MAX_EXTERNAL_ID}}}")
_NOT_ALLOWED = re.compile(r"[^\x21-\x7e]")


class ChannelIdentityError(ValueError):
    """Not `<channel>:<id>` with a known channel and an allowed id."""


@dataclass(frozen=True)
class ChannelIdentity:
    channel: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"


def is_resident_channel(channel: str) -> bool:
    return channel in RESIDENT_CHANNELS


def is_external_id(external_id: str) -> bool:
    return _EXTERNAL_ID.fullmatch(external_id or "") is not None


def channel_identity(channel: str, external_id: object) -> str:
    """`<channel>:<id>` for a chat; ChannelIdentityError when either part is not allowed."""
    return str(_checked(channel, str(external_id)))


def parse_channel_identity(raw: str) -> ChannelIdentity:
    """Split `<channel>:<id>` (the id may itself hold colons); ChannelIdentityError when it is not one."""
    channel, sep, external_id = (raw or "").partition(":")
    if not sep:
        raise ChannelIdentityError("expected <channel>:<id>, for example telegram:12345")
    return _checked(channel, external_id)


def identity_for_sender(sender_id: str | None) -> str:
    """The chat a Rasa sender id stands for. A well-formed `<channel>:<id>` is kept as it is; anything else
    (a tool's sender such as 'default') becomes a web chat, its disallowed characters replaced."""
    sender = sender_id or "anonymous"
    try:
        return str(parse_channel_identity(sender))
    except ChannelIdentityError:
        cleaned = _NOT_ALLOWED.sub("_", sender)[: MAX_EXTERNAL_ID - 8] or "anonymous"
        return f"{DEFAULT_CHANNEL}:{cleaned}"


def _checked(channel: str, external_id: str) -> ChannelIdentity:
    if not is_resident_channel(channel):
        raise ChannelIdentityError(f"the channel must be one of {', '.join(RESIDENT_CHANNELS)}")
    if not is_external_id(external_id):
        raise ChannelIdentityError(
            f"the id after the channel must be 1 to {MAX_EXTERNAL_ID} printable characters without spaces"
        )
    return ChannelIdentity(channel, external_id)
