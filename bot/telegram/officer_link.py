"""An officer links their Telegram account: `/link CODE` (or the workspace's t.me link, which sends
`/start link-CODE`) in a private chat with the bot, with the one-time code the workspace showed them.

The bot passes the code on with the sender's Telegram user id (Telegram vouches for it) and answers with
what the repairs service said; the service decides everything (repairs/alerts/telegram_link.py). Neither
the code nor the user id is logged.
"""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.ext import ContextTypes, filters

from bot.repairs_client import RepairsError, RepairsUnavailable
from bot.telegram.conversation import services

log = logging.getLogger(__name__)

START_PREFIX = "link-"
# `/start link-CODE` only: a plain /start still greets the resident through the assistant.
START_WITH_CODE = filters.Regex(rf"^/start(@\w+)?\s+{START_PREFIX}")
_LINKING = re.compile(rf"^/(link(@\w+)?(\s|$)|start(@\w+)?\s+{START_PREFIX})", re.IGNORECASE)
USAGE = "Send /link followed by the code the workspace shows you (Alerts page), like /link ABCD2345."
UNAVAILABLE = "The repairs service did not answer, so nothing was linked. Please try again in a moment."
NOT_DONE = "That did not work. Make a new code in the workspace and try again."


def is_link_message(text: str | None) -> bool:
    """An officer linking their account, not a resident talking to the assistant (not counted as one)."""
    return bool(text) and _LINKING.match(text or "") is not None


async def link_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/link CODE: link this Telegram account to the officer the code was made for."""
    await _link(update, context, " ".join(context.args or []))


async def start_with_code(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start link-CODE, from the workspace's t.me link: the same as /link CODE."""
    argument = (context.args or [""])[0]
    await _link(update, context, argument[len(START_PREFIX):])


async def _link(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    if not code.strip():
        await message.reply_text(USAGE)
        return
    try:
        answer = await services(context).repairs.officer_link(code[:40], telegram_user_id=user.id)
    except RepairsError as exc:  # a wrong, used or old code; too many tries; the account linked elsewhere
        log.info("officer link refused", extra={"code": exc.code})
        await message.reply_text(exc.detail or NOT_DONE)
        return
    except RepairsUnavailable:
        log.warning("officer link: repairs service unavailable")
        await message.reply_text(UNAVAILABLE)
        return
    log.info("officer telegram account linked")
    await message.reply_text(str(answer.get("message") or "Linked."))
