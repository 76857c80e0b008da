"""What the Telegram edge remembers about a chat between two updates, kept in the repairs service so that
any replica of the bot can take the chat's next update (a load balancer sends each webhook call anywhere).

- `keyboard`: the message whose buttons are still open, taken off once the conversation moves on, so a
  stale button cannot answer a later question.
- `answered:<message id>`: set by a keyboard's first tap only; a second tap (or a double tap landing on two
  replicas) is ignored.
- `photo`: a photo waiting for the resident to say which repair it is for.
- `payload:<digest>`: an assistant button payload too long for Telegram's 64-byte callback data.

Every value expires (Telegram lets a bot edit a message for 48 hours; a notification's rating buttons may
be tapped weeks later), and all of them go when the resident asks to be forgotten.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from typing import Any

from bot.repairs_client import RepairsClient, RepairsError, RepairsUnavailable

log = logging.getLogger(__name__)

KEYBOARD_TTL = 2 * 86400
PHOTO_TTL = 86400
PAYLOAD_TTL = 30 * 86400


@dataclass(frozen=True)
class PendingPhoto:
    file_id: str
    file_size: int
    filename: str
    content_type: str
    caption: str | None

    @classmethod
    def from_value(cls, value: Any) -> PendingPhoto | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(file_id=str(value["file_id"]), file_size=int(value["file_size"]),
                       filename=str(value["filename"]), content_type=str(value["content_type"]),
                       caption=value.get("caption") if isinstance(value.get("caption"), str) else None)
        except (KeyError, TypeError, ValueError):
            return None


def digest(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class ChatState:
    """One channel's chat state, through the repairs client. Reads that fail count as "nothing kept";
    writes that fail are logged: the conversation carries on, only a convenience is lost."""

    def __init__(self, repairs: RepairsClient, channel: str = "telegram") -> None:
        self._repairs = repairs
        self.channel = channel

    async def _put(self, chat_id: int, name: str, value: Any, ttl: int, *, only_if_absent: bool = False) -> bool:
        return await self._repairs.state_put(self.channel, str(chat_id), name, value, ttl_seconds=ttl,
                                             only_if_absent=only_if_absent)

    async def _quietly(self, call: Any, what: str) -> Any:
        try:
            return await call
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("chat state: %s failed: %s", what, exc)
            return None

    # the open keyboard
    async def keyboard_opened(self, chat_id: int, message_id: int) -> None:
        await self._quietly(self._put(chat_id, "keyboard", message_id, KEYBOARD_TTL), "keep keyboard")

    async def take_open_keyboard(self, chat_id: int) -> int | None:
        value = await self._quietly(self._repairs.state_take(self.channel, str(chat_id), "keyboard"), "take keyboard")
        return value if isinstance(value, int) else None

    async def keyboard_answered(self, chat_id: int, message_id: int) -> bool:
        """True for the first tap on this message's keyboard. When the service cannot say, the tap counts:
        a rare double answer beats a resident whose every tap is ignored."""
        try:
            first = await self._put(chat_id, f"answered:{message_id}", True, KEYBOARD_TTL, only_if_absent=True)
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("chat state: answered check failed: %s", exc)
            return True
        if first:
            # The tapped keyboard is marked as chosen, not taken away: no longer the chat's open one.
            open_one = await self._quietly(self._repairs.state_get(self.channel, str(chat_id), "keyboard"),
                                           "read keyboard")
            if open_one == message_id:
                await self.take_open_keyboard(chat_id)
        return first

    # long payloads
    async def keep_payload(self, chat_id: int, payload: str) -> str:
        """The digest to put in callback data. Raises when it cannot be kept (the button is then left out)."""
        key = digest(payload)
        await self._put(chat_id, f"payload:{key}", payload, PAYLOAD_TTL)
        return key

    async def payload(self, chat_id: int, key: str) -> str | None:
        value = await self._quietly(self._repairs.state_get(self.channel, str(chat_id), f"payload:{key}"),
                                    "read payload")
        return value if isinstance(value, str) else None

    # a photo waiting for its repair
    async def keep_photo(self, chat_id: int, photo: PendingPhoto) -> bool:
        return await self._quietly(self._put(chat_id, "photo", asdict(photo), PHOTO_TTL), "keep photo") is not None

    async def take_photo(self, chat_id: int) -> PendingPhoto | None:
        value = await self._quietly(self._repairs.state_take(self.channel, str(chat_id), "photo"), "take photo")
        return PendingPhoto.from_value(value)
