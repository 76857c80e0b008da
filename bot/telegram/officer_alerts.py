"""Taps on the buttons of an emergency alert in the officers' Telegram group ("Acknowledge", "Assign to me").

The repairs service posts the alert (through the outbox) and decides everything about a tap: whether the
group is the officers' group, which officer the tapping Telegram user is, and what was done. The bot only
passes the tap on, tells the tapper the answer (privately, as a callback answer), and updates the
message's buttons so the whole group sees who has it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.repairs_client import RepairsError, RepairsUnavailable
from bot.telegram.conversation import services
from bot.telegram.handlers import offered_title
from bot.telegram.rendering import CHOSEN, OFFICER

log = logging.getLogger(__name__)

PATTERN = rf"^{OFFICER}\|(ack|assign):[0-9]{{1,10}}$"
ACTIONS = {"ack": "acknowledge", "assign": "assign"}
ANSWER_LIMIT = 200  # characters Telegram shows in a callback answer
EXPIRED = "This button is no longer active. Please use the workspace."
UNAVAILABLE = "The repairs service did not answer. Please try again in a moment, or open the workspace."


def _keyboard(message: Message, outcome: dict[str, Any]) -> InlineKeyboardMarkup:
    """Who has it, for everyone in the group; "Assign to me" stays while nobody has taken the job."""
    assigned, acknowledged = outcome.get("assigned_to"), outcome.get("acknowledged_by")
    if assigned:
        return InlineKeyboardMarkup([[InlineKeyboardButton(f"✓ Assigned to {assigned}"[:64], callback_data=CHOSEN)]])
    rows = [[InlineKeyboardButton(f"✓ Acknowledged by {acknowledged}"[:64], callback_data=CHOSEN)]]
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if str(button.callback_data or "").startswith(f"{OFFICER}|assign:"):
                rows.append([button])
    return InlineKeyboardMarkup(rows)


async def alert_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on an alert's button: ask the repairs service to record it for the tapping officer."""
    query = update.callback_query
    assert query is not None
    message, data = query.message, query.data or ""
    # Only a button the bot really put on that message counts (a modified client can forge callback data).
    if update.effective_chat is None or not isinstance(message, Message) or offered_title(message, data) is None:
        await query.answer(EXPIRED)
        return
    action, _, alert_id = data.partition("|")[2].partition(":")
    try:
        outcome = await services(context).repairs.alert_action(
            int(alert_id), ACTIONS[action], telegram_user_id=query.from_user.id, chat_id=update.effective_chat.id
        )
    except RepairsError as exc:  # not an officer, not the officers' group, someone else has the job
        log.info("alert tap refused", extra={"code": exc.code})
        await query.answer((exc.detail or "That could not be done.")[:ANSWER_LIMIT], show_alert=True)
        return
    except RepairsUnavailable:
        log.warning("alert tap: repairs service unavailable")
        await query.answer(UNAVAILABLE, show_alert=True)
        return
    await query.answer(str(outcome.get("message") or "Done.")[:ANSWER_LIMIT])
    log.info("alert tap recorded", extra={"outcome": outcome.get("outcome")})
    with contextlib.suppress(TelegramError):  # "not modified" when the buttons already say so
        await query.edit_message_reply_markup(_keyboard(message, outcome))
