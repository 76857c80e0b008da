"""One small handler per kind of update. Wiring (which handler for which update) is in application.py.

Typed words reach the assistant as words (inbound.as_plain_text); only commands and the buttons the
bot itself offered may choose an intent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat_state import PendingPhoto
from bot.rasa_gateway import AssistantUnavailable
from bot.repairs_client import RepairsError, RepairsUnavailable
from bot.telegram import photos, texts
from bot.telegram.conversation import relay, sender_for, services
from bot.telegram.inbound import as_plain_text, too_long
from bot.telegram.rendering import ASSISTANT, CHOSEN, EDGE, HASHED, chosen_keyboard, edge_keyboard

log = logging.getLogger(__name__)

# What each command asks the assistant (an intent the edge may choose, or the words a button would send).
COMMAND_MESSAGES = {
    "start": "/greet",
    "report": "I want to report a repair",
    "status": "/check_status",
    "cancel": "/cancel_repair",
    "human": "/request_human",
}


def _chat(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _message(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start, /report, /status, /cancel, /human: ask the assistant for that."""
    text = _message(update).text or ""
    name = text.split()[0].lstrip("/").split("@")[0].lower() if text.strip() else ""
    await relay(context.bot, services(context), _chat(update), COMMAND_MESSAGES[name], typed=False)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot can do."""
    await _message(update).reply_text(texts.HELP)


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: what is kept about this chat."""
    await _message(update).reply_text(texts.PRIVACY)


async def forget_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget_me: ask before unlinking and erasing."""
    await _message(update).reply_text(texts.FORGET_CONFIRM, reply_markup=edge_keyboard(
        [[(texts.FORGET_YES, "forget:yes")], [(texts.FORGET_NO, "forget:no")]]))


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typed text, including "/words" that are not our commands: to the assistant as plain words."""
    edge = services(context)
    raw = _message(update).text or ""
    if too_long(raw, edge.settings.max_message_chars):
        await _message(update).reply_text(texts.TOO_LONG.format(limit=edge.settings.max_message_chars))
        return
    words = as_plain_text(raw)
    if not words:
        await _message(update).reply_text(texts.EMPTY_COMMAND)
        return
    await relay(context.bot, edge, _chat(update), words, typed=True)


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo: its largest version within the size limit goes onto the resident's repair."""
    message = _message(update)
    edge = services(context)
    chosen = photos.best_size(message.photo, edge.settings.max_photo_bytes)
    if chosen is None:  # every version is too large (or of unknown size): refused before any download
        too_big = max((p.file_size or 0 for p in message.photo), default=0)
        pending = PendingPhoto(file_id="", file_size=max(too_big, edge.settings.max_photo_bytes + 1),
                               filename="photo.jpg", content_type="image/jpeg", caption=message.caption)
    else:
        pending = PendingPhoto(file_id=chosen.file_id, file_size=chosen.file_size or 0, filename="photo.jpg",
                               content_type="image/jpeg", caption=message.caption)
    await photos.receive(context.bot, edge, _chat(update), pending)


async def image_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo sent as a file (uncompressed)."""
    message = _message(update)
    document = message.document
    assert document is not None
    size = document.file_size if document.file_size is not None else services(context).settings.max_photo_bytes + 1
    pending = PendingPhoto(file_id=document.file_id, file_size=size,
                           filename=document.file_name or "photo", content_type=document.mime_type or "image/jpeg",
                           caption=message.caption)
    await photos.receive(context.bot, services(context), _chat(update), pending)


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location: to the assistant as words, with the coordinates in metadata for a form that asks."""
    place = _message(update).location
    assert place is not None
    coordinates = {"latitude": place.latitude, "longitude": place.longitude}
    await relay(context.bot, services(context), _chat(update),
                f"My location is {place.latitude:.5f}, {place.longitude:.5f}", typed=True, location=coordinates)


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact: the phone number as words, and in metadata (with whether it is the resident's own)."""
    card = _message(update).contact
    assert card is not None
    own = update.effective_user is not None and card.user_id == update.effective_user.id
    await relay(context.bot, services(context), _chat(update), f"My phone number is {card.phone_number}",
                typed=True, contact={"phone_number": card.phone_number, "own": own})


def _answer_with(reply: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A kind of message the assistant cannot take: say so plainly."""
        await _message(update).reply_text(reply)

    return answer


sticker = _answer_with(texts.STICKER)
voice = _answer_with(texts.VOICE)
video = _answer_with(texts.VIDEO)
document = _answer_with(texts.DOCUMENT)
unsupported = _answer_with(texts.UNSUPPORTED)
private_only = _answer_with(texts.PRIVATE_ONLY)


def offered_title(message: Message, data: str) -> str | None:
    """The title of the button on `message` carrying `data`, or None: a tap only counts for a button the
    bot actually put on that message (callback data could otherwise be forged by a modified client)."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on an inline button: mark the choice on the keyboard, then act on it."""
    query = update.callback_query
    assert query is not None
    edge = services(context)
    message = query.message
    data = query.data or ""
    if update.effective_chat is None or not isinstance(message, Message):
        await query.answer(texts.BUTTON_EXPIRED)
        return
    chat_id = update.effective_chat.id
    if data == CHOSEN:
        await query.answer(texts.BUTTON_USED)
        return
    title = offered_title(message, data)
    kind, _, value = data.partition("|")
    payload: str | None = value if kind in (ASSISTANT, EDGE) else None
    if kind == HASHED:
        payload = await edge.state.payload(chat_id, value)
    if title is None or not payload:
        await query.answer(texts.BUTTON_EXPIRED)
        return
    if not await edge.state.keyboard_answered(chat_id, message.message_id):
        await query.answer(texts.BUTTON_USED)
        return
    await query.answer()
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(chosen_keyboard(title))
    if kind == EDGE:
        await edge_action(update, context, chat_id, payload)
    else:
        await relay(context.bot, edge, chat_id, payload, typed=False)  # a button the assistant offered


async def edge_action(update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, action: str) -> None:
    """The edge's own buttons: forget me (yes/no), which repair a photo is for."""
    name, _, argument = action.partition(":")
    if name == "forget" and argument == "yes":
        await forget(context, chat_id)
    elif name == "forget":
        await context.bot.send_message(chat_id, texts.FORGET_KEPT)
    elif name == "photo" and argument:
        await photos.attach_pending(context.bot, services(context), chat_id, argument)


async def forget(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """Unlink the chat from the resident (the service drops what the edge kept for the chat with it),
    then erase the conversation."""
    edge = services(context)
    sender = sender_for(chat_id)
    try:
        await edge.repairs.unlink(sender)
    except (RepairsError, RepairsUnavailable) as exc:
        log.warning("forget: unlink failed: %s", exc)
        await context.bot.send_message(chat_id, texts.FORGET_FAILED)
        return
    try:
        await edge.rasa.erase(sender)
    except AssistantUnavailable as exc:
        log.error("forget: conversation not erased: %s", exc)
        await context.bot.send_message(chat_id, texts.FORGET_PARTLY)
        return
    log.info("forget: chat unlinked and conversation erased")
    await context.bot.send_message(chat_id, texts.FORGOTTEN)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (its type and where, never the message) and tell the resident something went wrong."""
    error = context.error
    log.error("telegram handler failed: %s", type(error).__name__,
              exc_info=(type(error), error, error.__traceback__) if error else None)
    if isinstance(update, Update) and update.effective_chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, texts.SOMETHING_WRONG)
