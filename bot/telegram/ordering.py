"""Updates from different chats run concurrently; one chat's updates run one at a time, in order; and an
update Telegram sends twice (a webhook retry, a restart before the offset was confirmed) runs once.

python-telegram-bot starts one task per update in arrival order. Each task takes its chat's lock
(asyncio locks are FIFO, and nothing awaits before the lock is requested), so a chat's messages reach
the assistant in the order the resident sent them, while other chats carry on.

An update is taken with a lease before it runs and recorded as done only after (bot/telegram/leases.py), so
a replica killed mid-turn leaves no claim behind that would make the redelivered update look handled:
whoever gets it next waits out the dead replica's lease and handles it. The webhook answers Telegram once
the update has run (`settled`), so a replica that dies first never said 200 for it and Telegram (or the load
balancer, at once) sends it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

FirstDelivery = Callable[[Update], Awaitable[bool]]


class Leases(Protocol):
    async def take(self, update: Update) -> bool:
        """True once this replica may handle the update (waiting out another's live lease); False when it
        was handled already."""

    async def done(self, update: Update) -> None:
        """The update has been handled: a redelivery is a repeat."""


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int, first_delivery: FirstDelivery,
                 leases: Leases | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._first_delivery = first_delivery
        self._leases = leases
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}  # tasks holding or queued for each chat's lock
        self._settled: dict[int, asyncio.Future[None]] = {}  # update id -> resolved once the update has run

    def settled(self, update_id: int) -> asyncio.Future[None]:
        """Resolved once the update with this id has run (or was skipped as a repeat). Ask before queueing it."""
        future = self._settled.get(update_id)
        if future is None:
            future = self._settled[update_id] = asyncio.get_running_loop().create_future()
        return future

    def _settle(self, update: object) -> None:
        if isinstance(update, Update):
            future = self._settled.pop(update.update_id, None)
            if future is not None and not future.done():
                future.set_result(None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._in_order(update, coroutine)
        finally:
            self._settle(update)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
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
        if not isinstance(update, Update):
            await coroutine
            return
        if self._leases is None or _chat_key(update) is None:
            # Claimed before it runs: the simple form, for an update with no chat to keep a lease under.
            if not await self._first_delivery(update):
                _skip(coroutine)
                return
            await coroutine
            return
        if not await self._leases.take(update):
            _skip(coroutine)
            return
        # The lasting record, and the chat's conversation counted; its answer is not what decides here (a
        # redelivery after a replica died mid-turn is "not first" there, and must run all the same).
        await self._first_delivery(update)
        await coroutine
        # Done only now: a replica that died above left just a lease, which runs out.
        await self._leases.done(update)

    async def initialize(self) -> None:
        """Nothing to set up: locks are made as chats appear."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _skip(coroutine: Awaitable[Any]) -> None:
    log.info("telegram update repeated; skipped")
    if asyncio.iscoroutine(coroutine):
        coroutine.close()


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
