"""Which bot replica handles a Telegram update (bot/telegram/leases.py), against the real repairs service over
HTTP: one replica takes an update, a second waits while the first's lease is live, takes the update over once
the lease has run out (the first replica died mid-turn), and nobody takes it once it is done."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from telegram import Chat, Message, Update, User

from bot.repairs_client import RepairsClient
from bot.telegram import leases
from bot.telegram.leases import UpdateLeases
from tests.conftest import SERVICE_TOKEN, LiveServer


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    message = Message(update_id, date=datetime(2026, 1, 1), chat=chat, from_user=User(chat_id, "R", False), text="x")
    return Update(update_id, message=message)


def test_a_dead_replicas_update_is_taken_over_once_its_lease_runs_out(live_server: LiveServer,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leases, "POLL_SECONDS", 0.1)  # the wait's step, short for the test

    async def run() -> tuple[bool, bool, bool, bool]:
        first = RepairsClient(live_server.url, SERVICE_TOKEN, timeout=5)
        second = RepairsClient(live_server.url, SERVICE_TOKEN, timeout=5)
        try:
            a, b = UpdateLeases(first, "telegram", lease_seconds=2), UpdateLeases(second, "telegram", lease_seconds=2)
            update = _update(501, 7301)
            taken_by_first = await a.take(update)
            # The first replica "dies" holding the lease: the second waits it out, then takes the update.
            waiting = asyncio.create_task(b.take(update))
            await asyncio.sleep(0.5)
            still_waiting = not waiting.done()
            taken_by_second = await waiting
            await b.done(update)
            # A redelivery after the update was handled is a repeat, for either replica.
            repeat = await a.take(update)
            return taken_by_first, still_waiting, taken_by_second, repeat
        finally:
            await first.aclose()
            await second.aclose()

    assert asyncio.run(run()) == (True, True, True, False)


def test_two_updates_of_one_chat_are_leased_apart(live_server: LiveServer) -> None:
    async def run() -> tuple[bool, bool]:
        client = RepairsClient(live_server.url, SERVICE_TOKEN, timeout=5)
        try:
            replica = UpdateLeases(client, "telegram", lease_seconds=30)
            return await replica.take(_update(601, 7302)), await replica.take(_update(602, 7302))
        finally:
            await client.aclose()

    assert asyncio.run(run()) == (True, True)
