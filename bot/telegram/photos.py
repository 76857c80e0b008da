"""Photos from the chat onto the resident's repair: size checked before download, handed to the repairs
service (which checks the image and strips its metadata), attached to the current or a chosen repair
(bot/photo_intake.py decides which, as for the web chat).
"""

from __future__ import annotations

import logging

from telegram import Bot, Document, PhotoSize
from telegram.error import BadRequest, TelegramError

from bot.chat_state import PendingPhoto
from bot.photo_intake import Found, photo_target
from bot.repairs_client import RepairsError, RepairsUnavailable
from bot.telegram import texts
from bot.telegram.conversation import EdgeServices, close_keyboard, relay, sender_for, typing
from bot.telegram.inbound import as_plain_text
from bot.telegram.rendering import edge_keyboard

log = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


def best_size(sizes: tuple[PhotoSize, ...], limit: int) -> PhotoSize | None:
    """The largest version Telegram offers within `limit` bytes (sizes without a stated size are skipped:
    the check must happen before the download)."""
    fitting = [p for p in sizes if p.file_size is not None and p.file_size <= limit]
    return max(fitting, key=lambda p: p.width * p.height, default=None)


def is_image_document(document: Document) -> bool:
    return (document.mime_type or "").lower() in IMAGE_TYPES


async def receive(bot: Bot, edge: EdgeServices, chat_id: int, photo: PendingPhoto) -> None:
    """A photo arrived: attach it to the current repair, or ask which one."""
    await close_keyboard(bot, edge, chat_id)
    limit = edge.settings.max_photo_bytes
    if photo.file_size > limit:
        await bot.send_message(chat_id, texts.PHOTO_TOO_BIG.format(limit=limit // (1024 * 1024)))
        return
    try:
        target = await photo_target(edge.repairs, sender_for(chat_id))
    except (RepairsUnavailable, RepairsError) as exc:
        log.warning("photo: repairs service unavailable: %s", exc)
        await bot.send_message(chat_id, texts.PHOTO_FAILED)
        return
    if target.found is Found.NOT_VERIFIED:
        # The edge's own request: the assistant checks who they are, then asks for the photo again.
        await relay(bot, edge, chat_id, "/add_photo", typed=False)
        return
    if target.found is Found.NO_REPAIR:
        await bot.send_message(chat_id, texts.PHOTO_NO_REPAIR)
        if photo.caption and as_plain_text(photo.caption):
            await relay(bot, edge, chat_id, as_plain_text(photo.caption)[: edge.settings.max_message_chars],
                        typed=True)
        return
    if target.found is Found.TICKET and target.reference:
        await attach(bot, edge, chat_id, photo, target.reference)
        return
    if not await edge.state.keep_photo(chat_id, photo):
        await bot.send_message(chat_id, texts.PHOTO_FAILED)
        return
    rows = [[(f"{t.reference}: {t.summary}"[:60], f"photo:{t.reference}")] for t in target.choices]
    await bot.send_message(chat_id, texts.PHOTO_WHICH, reply_markup=edge_keyboard(rows))


async def attach_pending(bot: Bot, edge: EdgeServices, chat_id: int, reference: str) -> None:
    """The resident picked the repair for the photo they sent."""
    photo = await edge.state.take_photo(chat_id)
    if photo is None:
        await bot.send_message(chat_id, texts.PHOTO_GONE)
        return
    await attach(bot, edge, chat_id, photo, reference)


async def attach(bot: Bot, edge: EdgeServices, chat_id: int, photo: PendingPhoto, reference: str) -> None:
    async with typing(bot, chat_id):
        try:
            file = await bot.get_file(photo.file_id)
            if file.file_size is not None and file.file_size > edge.settings.max_photo_bytes:
                await bot.send_message(chat_id, texts.PHOTO_TOO_BIG.format(
                    limit=edge.settings.max_photo_bytes // (1024 * 1024)))
                return
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:
            if "too big" in str(exc).lower():
                await bot.send_message(chat_id, texts.PHOTO_TOO_BIG.format(limit=20))
            else:
                log.warning("photo: Telegram refused the download: %s", type(exc).__name__)
                await bot.send_message(chat_id, texts.PHOTO_GONE)
            return
        except TelegramError as exc:
            log.warning("photo: download failed: %s", type(exc).__name__)
            await bot.send_message(chat_id, texts.PHOTO_FAILED)
            return
        try:
            await edge.repairs.add_photo(sender_for(chat_id), reference, data, filename=photo.filename,
                                         content_type=photo.content_type)
        except RepairsError as exc:
            # The service explains refusals (too large, not an image) in words meant for the resident.
            log.info("photo refused: %s", exc.code)
            await bot.send_message(chat_id, exc.detail or texts.PHOTO_FAILED)
            return
        except RepairsUnavailable as exc:
            log.warning("photo: repairs service unavailable: %s", exc)
            await bot.send_message(chat_id, texts.PHOTO_FAILED)
            return
        caption = as_plain_text(photo.caption or "")
        if caption:
            # The resident's words about the photo belong with it on the repair, not in a new conversation.
            try:
                await edge.repairs.add_information(sender_for(chat_id), reference, caption)
            except (RepairsError, RepairsUnavailable) as exc:
                log.warning("photo caption not added: %s", exc)
    await bot.send_message(chat_id, texts.PHOTO_ADDED.format(reference=reference))
    log.info("photo added to a repair")
