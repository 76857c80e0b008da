"""One turn with the assistant: pass a message to Rasa as the chat, show typing meanwhile, send the replies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from repairs_common.channels import channel_identity
from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat_state import ChatState
from bot.rasa_gateway import AssistantUnavailable, NothingSaid, RasaGateway, Reply
from bot.repairs_client import RepairsClient
from bot.settings import BotSettings
from bot.telegram import texts
from bot.telegram.rendering import send_replies

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about five after each chat action


def sender_for(chat_id: int) -> str:
    """The identity the assistant and the repairs service know this chat by (repairs_common.channels)."""
    return channel_identity(CHANNEL, chat_id)


@dataclass
class EdgeServices:
    """What the handlers share, built once at start-up (kept in `application.bot_data["edge"]`). Nothing
    here is per chat: a chat's state lives in `state` (the repairs service), so replicas can share chats."""

    settings: BotSettings
    rasa: RasaGateway
    repairs: RepairsClient
    state: ChatState = field(init=False)

    def __post_init__(self) -> None:
        self.state = ChatState(self.repairs, CHANNEL)

    async def aclose(self) -> None:
        await self.rasa.aclose()
        await self.repairs.aclose()


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
    message_id = await edge.state.take_open_keyboard(chat_id)
    if message_id is not None:
        with contextlib.suppress(TelegramError):
            await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def relay(bot: Bot, edge: EdgeServices, chat_id: int, message: str, *, typed: bool, **metadata: Any) -> None:
    """Pass `message` to the assistant as this chat and send back what it says. The caller says whether the
    resident typed it (`typed`: plain words, which Rasa's channel also refuses to read as an intent) or it is
    a command's or button's payload the bot chose (which may carry an intent)."""
    started = time.monotonic()
    await close_keyboard(bot, edge, chat_id)
    async with typing(bot, chat_id):
        try:
            replies = await edge.rasa.send(sender_for(chat_id), message, {"channel": CHANNEL, **metadata},
                                           typed=typed)
        except NothingSaid:
            log.warning("assistant said nothing to a typed message")
            replies = [Reply(text=texts.NO_ANSWER)]
        except AssistantUnavailable as exc:
            log.warning("assistant unavailable: %s", exc)
            replies = [Reply(text=texts.ASSISTANT_DOWN)]
    with_buttons = await send_replies(bot, chat_id, replies, edge.state)
    if with_buttons is not None:
        await edge.state.keyboard_opened(chat_id, with_buttons)
    log.info("telegram turn answered", extra={"replies": len(replies),
                                               "ms": round((time.monotonic() - started) * 1000)})
