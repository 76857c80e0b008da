"""Which replica handles a Telegram update, kept in the repairs service's chat state so every replica sees it.

Before an update runs, the replica takes a lease on it (`update:<id>` = "working", kept only if absent, for
LEASE_SECONDS); once it has run, the value becomes "done" for as long as Telegram may send it again. A
replica that meets a live "working" lease waits for it to run out or turn "done": the other replica may still
be handling the update, or may have died mid-turn (killed, its machine gone), in which case the update would
otherwise never be answered. A turn takes seconds and the webhook answers within WEBHOOK_WAIT_SECONDS, well
inside the lease, so a live replica's update is never taken from it.

When the repairs service cannot be asked, the update is handled anyway, as the update claim does: a missed
de-duplication costs a repeated answer, a dropped message could be a resident reporting a gas leak.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update

from bot.repairs_client import RepairsClient, RepairsError, RepairsUnavailable

log = logging.getLogger(__name__)

LEASE_SECONDS = 30
DONE_SECONDS = 2 * 86400  # Telegram keeps an unanswered update for 24 hours
WORKING, DONE = "working", "done"
POLL_SECONDS = 1.0


class UpdateLeases:
    def __init__(self, repairs: RepairsClient, channel: str, *, lease_seconds: int = LEASE_SECONDS) -> None:
        self.repairs = repairs
        self.channel = channel
        self.lease_seconds = lease_seconds

    @staticmethod
    def _where(update: Update) -> tuple[str, str]:
        chat = update.effective_chat or update.effective_user
        assert chat is not None, "only updates with a chat are leased"
        return str(chat.id), f"update:{update.update_id}"

    async def take(self, update: Update) -> bool:
        chat, name = self._where(update)
        # A little past the lease: by then the other replica has finished or is gone.
        deadline = time.monotonic() + self.lease_seconds + 5
        try:
            while True:
                if await self.repairs.state_put(self.channel, chat, name, WORKING, ttl_seconds=self.lease_seconds,
                                                only_if_absent=True):
                    return True
                if await self.repairs.state_get(self.channel, chat, name) == DONE:
                    return False
                if time.monotonic() > deadline:
                    log.warning("telegram update lease never ran out; handling the update anyway")
                    return True
                await asyncio.sleep(POLL_SECONDS)
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("update lease unavailable (%s); handling the update anyway", exc)
            return True

    async def done(self, update: Update) -> None:
        chat, name = self._where(update)
        try:
            await self.repairs.state_put(self.channel, chat, name, DONE, ttl_seconds=DONE_SECONDS)
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("update not recorded as done (%s); a redelivery would be answered again", exc)
