"""Updates from different chats run concurrently; one chat's updates run one at a time, in order; and an
update Telegram sends twice (a webhook retry, a restart before the offset was confirmed) runs once.

python-telegram-bot starts one task per update in arrival order. Each task takes its chat's lock
(asyncio locks are FIFO, and nothing awaits before the lock is requested), so a chat's messages reach
the assistant in the order the resident sent them, while other chats carry on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

FirstDelivery = Callable[[Update], Awaitable[bool]]


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int, first_delivery: FirstDelivery) -> None:
        super().__init__(max_concurrent_updates)
        self._first_delivery = first_delivery
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}  # tasks holding or queued for each chat's lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await self._run_once(update, coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._run_once(update, coroutine)
        finally:
            # Drop the lock once no task needs it, so memory does not grow with every chat ever seen.
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def _run_once(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update) and not await self._first_delivery(update):
            log.info("telegram update repeated; skipped")
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            return
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up: locks are made as chats appear."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
