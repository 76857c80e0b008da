"""The assistant's replies as native Telegram messages: text split at Telegram's limit, buttons as inline
keyboards, images as photos. Also the callback data those keyboards carry.

Callback data (at most 64 bytes) says who owns a button:
- `r|<payload>`: an assistant button; the payload goes back to Rasa as if typed by the edge.
- `h|<digest>`: an assistant button whose payload is too long to carry; the payload is kept in the chat's
  shared state (bot/chat_state.py) by its digest, so any replica can resolve the tap.
- `e|<action>`: the edge's own buttons (forget me, which repair a photo is for, an answered choice).
- `o|<action>:<alert id>`: the buttons on an emergency alert in the officers' group, written by the repairs
  service and sent as they are; taps go back to the service (bot/telegram/officer_alerts.py).
The delivery worker may build keyboards with `keyboard()` too, so taps on its buttons come back the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Protocol, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.rasa_gateway import Button, Reply
from bot.settings import TELEGRAM_MAX_TEXT

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64
MAX_CAPTION = 1024
ASSISTANT, HASHED, EDGE, OFFICER = "r", "h", "e", "o"
CHOSEN = f"{EDGE}|chosen"


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji can count as two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TELEGRAM_MAX_TEXT) -> list[str]:
    """`text` in parts of at most `limit` UTF-16 units, broken at a paragraph, line, sentence or word
    where one is near enough, so nothing is cut mid-word unless a single word is longer than a message."""
    text = text.strip()
    parts: list[str] = []
    while utf16_len(text) > limit:
        cut = _fit(text, limit)
        window = text[:cut]
        for separator in ("\n\n", "\n", ". ", " "):
            at = window.rfind(separator)
            if at >= cut // 2:
                cut = at + len(separator)
                break
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _fit(text: str, limit: int) -> int:
    """The longest prefix length (in characters) within `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


class PayloadStore(Protocol):
    """Where payloads too long for callback data are kept (bot.chat_state.ChatState)."""

    async def keep_payload(self, chat_id: int, payload: str) -> str: ...


async def callback_data(payload: str, chat_id: int, store: PayloadStore | None) -> str:
    if payload.startswith(f"{OFFICER}|"):  # already tagged by the repairs service, and short by design
        if len(payload.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError("officer button payload too long for callback data")
        return payload
    data = f"{ASSISTANT}|{payload}"
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    if store is None:
        raise ValueError("payload too long for callback data and no store to keep it in")
    return f"{HASHED}|{await store.keep_payload(chat_id, payload)}"


async def keyboard(buttons: Sequence[Button], chat_id: int,
                   store: PayloadStore | None = None) -> InlineKeyboardMarkup | None:
    """An inline keyboard: one button a row so long titles stay readable; very short ones (ratings,
    yes/no) share rows of up to five. Raises ValueError (or the store's error) when a long payload
    cannot be kept."""
    if not buttons:
        return None
    keys = [InlineKeyboardButton(b.title[:64], callback_data=await callback_data(b.payload, chat_id, store))
            for b in buttons]
    per_row = 5 if all(len(b.title) <= 3 for b in buttons) else 3 if all(len(b.title) <= 8 for b in buttons) else 1
    return InlineKeyboardMarkup([keys[i:i + per_row] for i in range(0, len(keys), per_row)])


def edge_keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """The edge's own buttons: (title, action) pairs."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=f"{EDGE}|{action}")
                                  for title, action in row] for row in rows])


def chosen_keyboard(title: str) -> InlineKeyboardMarkup:
    """What a keyboard becomes once tapped: the choice, ticked, and nothing else to tap."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"✓ {title}"[:64], callback_data=CHOSEN)]])


T = TypeVar("T")
# A reply Telegram did not take (a 5xx, or a flood answer still coming after the rate limiter's own retries)
# is sent again, with a growing pause: the resident is waiting for it, and an outage of Telegram's lasts
# seconds to a minute. A timeout is never retried: Telegram may have sent the message, and would send it twice.
SEND_ATTEMPTS = 8
MAX_PAUSE_SECONDS = 8.0


async def _sent(send: Callable[[], Awaitable[T]]) -> T:
    pause = 1.0
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except TimedOut:
            raise
        except RetryAfter as exc:
            if attempt == SEND_ATTEMPTS:
                raise
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
        except NetworkError:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
    raise AssertionError("unreachable")


async def send_replies(bot: Bot, chat_id: int, replies: Sequence[Reply], store: PayloadStore | None) -> int | None:
    """Send the assistant's replies in order; each reply's buttons go on its last message. Returns the id of
    the last message that carries buttons, if any."""
    with_buttons: int | None = None
    for reply in replies:
        try:
            markup = await keyboard(reply.buttons, chat_id, store)
        except Exception as exc:  # a long payload not kept (store down): the resident can still type
            log.warning("buttons left off a reply: %s", type(exc).__name__)
            markup = None
        if reply.image:
            caption = reply.text if reply.text and utf16_len(reply.text) <= MAX_CAPTION else None
            if reply.text and caption is None:
                for part in split_text(reply.text):
                    await _sent(partial(bot.send_message, chat_id, part))
            sent: Message = await _sent(partial(bot.send_photo, chat_id, photo=reply.image, caption=caption,
                                                reply_markup=markup))
            with_buttons = sent.message_id if markup is not None else with_buttons
            continue
        parts = split_text(reply.text) if reply.text else []
        if not parts and markup is not None:
            parts = ["Please choose:"]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await _sent(partial(bot.send_message, chat_id, part, reply_markup=markup if last else None))
            with_buttons = sent.message_id if last and markup is not None else with_buttons
    return with_buttons
