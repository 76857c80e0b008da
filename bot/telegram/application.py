"""All the wiring in one place: which handler takes which update, and how the client talks to Telegram."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.repairs_client import RepairsError, RepairsUnavailable
from bot.settings import BotSettings
from bot.telegram import handlers, officer_alerts, officer_link
from bot.telegram.conversation import CHANNEL, EdgeServices
from bot.telegram.leases import UpdateLeases
from bot.telegram.ordering import ChatOrderedProcessor, FirstDelivery
from bot.telegram.photos import IMAGE_TYPES

log = logging.getLogger(__name__)

# Only what the bot acts on: edits, reactions, group membership and the rest are never sent to it.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def build_application(settings: BotSettings, edge: EdgeServices) -> Application:
    assert settings.telegram_bot_token is not None
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url)
        .concurrent_updates(ChatOrderedProcessor(settings.telegram_concurrency, _first_delivery(edge),
                                                UpdateLeases(edge.repairs, CHANNEL)))
        # Keeps sends within Telegram's flood limits and retries those answered with RetryAfter.
        .rate_limiter(AIORateLimiter(max_retries=settings.telegram_send_retries))
        .connect_timeout(5).read_timeout(15).write_timeout(30).pool_timeout(10)
        .get_updates_read_timeout(settings.telegram_poll_timeout + 10)
    )
    if settings.telegram_mode == "webhook":
        builder = builder.updater(None)  # updates arrive through bot.web, not getUpdates
    application = builder.build()
    application.bot_data["edge"] = edge
    add_handlers(application)
    return application


def add_handlers(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    image_documents: filters.BaseFilter = filters.Document.MimeType("image/jpeg")
    for mime in sorted(IMAGE_TYPES - {"image/jpeg"}):
        image_documents = image_documents | filters.Document.MimeType(mime)
    application.add_handlers([
        # Residents' details stay out of group chats.
        MessageHandler(~private & filters.COMMAND, handlers.private_only),
        # An officer's one-time link code (before /start reaches the assistant: first match wins).
        CommandHandler("link", officer_link.link_command, filters=private),
        CommandHandler("start", officer_link.start_with_code, filters=private & officer_link.START_WITH_CODE),
        CommandHandler(list(handlers.COMMAND_MESSAGES), handlers.command, filters=private),
        CommandHandler("help", handlers.help_command, filters=private),
        CommandHandler("privacy", handlers.privacy, filters=private),
        CommandHandler("forget_me", handlers.forget_me, filters=private),
        MessageHandler(private & filters.TEXT, handlers.text),  # includes "/words" that are not commands
        MessageHandler(private & filters.PHOTO, handlers.photo),
        MessageHandler(private & filters.Sticker.ALL, handlers.sticker),
        MessageHandler(private & (filters.VOICE | filters.AUDIO), handlers.voice),
        MessageHandler(private & (filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION), handlers.video),
        MessageHandler(private & image_documents, handlers.image_document),
        MessageHandler(private & filters.Document.ALL, handlers.document),
        MessageHandler(private & filters.LOCATION, handlers.location),
        MessageHandler(private & filters.CONTACT, handlers.contact),
        MessageHandler(private & ~filters.StatusUpdate.ALL, handlers.unsupported),
        # The officers' emergency alert buttons, before the residents' buttons (first match wins).
        CallbackQueryHandler(officer_alerts.alert_button, pattern=officer_alerts.PATTERN),
        CallbackQueryHandler(handlers.button),
    ])
    application.add_error_handler(handlers.on_error)


def _first_delivery(edge: EdgeServices) -> FirstDelivery:
    async def first_delivery(update: Update) -> bool:
        """Ask the repairs service whether this update is new. If it cannot say, handle the update anyway:
        a missed de-duplication costs at most a repeated answer, while a dropped message could be a
        resident reporting a gas leak."""
        # Update ids are per bot: the bot's id (the token's first part) keeps two bots' ids apart.
        update_id = f"{update.get_bot().token.split(':', 1)[0]}:{update.update_id}"
        try:
            return await edge.repairs.first_delivery(CHANNEL, update_id, chat=resident_chat(update))
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("update de-duplication unavailable (%s); handling the update anyway", exc)
            return True

    return first_delivery


def resident_chat(update: Update) -> str | None:
    """The chat of a resident's message, command or button tap, whose conversation the repairs service
    counts with the update's claim; None for anything else (the officers' group and its alert buttons, an
    officer's /link)."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or (update.message is None and update.callback_query is None):
        return None
    if update.message is not None and officer_link.is_link_message(update.message.text):
        return None  # an officer linking their Telegram account is no resident's conversation
    return str(chat.id)
