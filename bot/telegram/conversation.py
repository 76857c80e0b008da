"""One turn with the assistant: pass a message to Rasa as the chat, show typing meanwhile, send the replies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.rasa_gateway import AssistantUnavailable, RasaGateway, Reply
from bot.repairs_client import RepairsClient
from bot.settings import BotSettings
from bot.telegram import texts
from bot.telegram.rendering import PayloadStore, send_replies

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about five after each chat action


def sender_for(chat_id: int) -> str:
    """The identity the assistant and the repairs service know this chat by (see actions/identity.py)."""
    return f"{CHANNEL}:{chat_id}"


class Bounded(OrderedDict[Any, Any]):
    """A dict that forgets its oldest entries beyond `capacity`, for per-chat state kept in memory."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


@dataclass
class PendingPhoto:
    file_id: str
    file_size: int
    filename: str
    content_type: str
    caption: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class EdgeServices:
    """What the handlers share, built once at start-up (kept in `application.bot_data["edge"]`)."""

    settings: BotSettings
    rasa: RasaGateway
    repairs: RepairsClient
    payloads: PayloadStore = field(default_factory=PayloadStore)
    # A photo waiting for the resident to say which repair it is for, by chat.
    pending_photos: Bounded = field(default_factory=lambda: Bounded(10_000))
    # Keyboards already answered, by (chat, message): a second tap on the same question is ignored.
    answered: Bounded = field(default_factory=lambda: Bounded(50_000))
    # The assistant's latest keyboard in each chat, taken away once the conversation moves on, so a stale
    # button cannot answer a later question.
    open_keyboards: Bounded = field(default_factory=lambda: Bounded(50_000))

    async def aclose(self) -> None:
        await self.rasa.aclose()
        await self.repairs.aclose()

    def forget_chat(self, chat_id: int) -> None:
        self.pending_photos.pop(chat_id, None)
        self.open_keyboards.pop(chat_id, None)
        for key in [k for k in self.answered if k[0] == chat_id]:
            del self.answered[key]


def services(context: ContextTypes.DEFAULT_TYPE) -> EdgeServices:
    edge = context.bot_data["edge"]
    assert isinstance(edge, EdgeServices)
    return edge


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """"typing…" in the chat until the block ends; a failure to show it never stops the turn."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_keyboard(bot: Bot, edge: EdgeServices, chat_id: int) -> None:
    """Take the buttons off the assistant's last question in this chat (it has been answered, or passed by)."""
    message_id = edge.open_keyboards.pop(chat_id, None)
    if message_id is not None:
        with contextlib.suppress(TelegramError):
            await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def relay(bot: Bot, edge: EdgeServices, chat_id: int, message: str, **metadata: Any) -> None:
    """Pass `message` to the assistant as this chat and send back what it says. The caller decides whether
    `message` may carry an intent (commands, buttons) or must be plain words (see inbound.as_plain_text)."""
    started = time.monotonic()
    await close_keyboard(bot, edge, chat_id)
    async with typing(bot, chat_id):
        try:
            replies = await edge.rasa.send(sender_for(chat_id), message, {"channel": CHANNEL, **metadata})
        except AssistantUnavailable as exc:
            log.warning("assistant unavailable: %s", exc)
            replies = [Reply(text=texts.ASSISTANT_DOWN)]
    with_buttons = await send_replies(bot, chat_id, replies, edge.payloads)
    if with_buttons is not None:
        edge.open_keyboards[chat_id] = with_buttons
    log.info("telegram turn answered", extra={"replies": len(replies),
                                               "ms": round((time.monotonic() - started) * 1000)})
