"""The Telegram edge's life cycle: start in polling or webhook mode, accept webhook updates, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.delivery import DeliveryWorker, build_worker
from bot.delivery_settings import DeliverySettings
from bot.rasa_gateway import RasaGateway
from bot.repairs_client import RepairsClient
from bot.settings import BotSettings
from bot.telegram.application import ALLOWED_UPDATES, build_application
from bot.telegram.conversation import EdgeServices
from bot.telegram.ordering import ChatOrderedProcessor
from bot.telegram.texts import COMMANDS

log = logging.getLogger(__name__)

# How long the webhook holds Telegram's request while the update runs; well inside the update's lease
# (bot/telegram/leases.py), so Telegram never sends an update again while this replica is still on it.
WEBHOOK_WAIT_SECONDS = 20.0


class TelegramEdge:
    def __init__(self, settings: BotSettings, edge: EdgeServices, delivery: DeliverySettings | None = None) -> None:
        self.settings = settings
        self.services = edge
        self.application: Application = build_application(settings, edge)
        self.delivery = delivery
        self.worker: DeliveryWorker | None = None

    @classmethod
    def from_settings(cls, settings: BotSettings, delivery: DeliverySettings | None = None) -> TelegramEdge:
        edge = EdgeServices(
            settings=settings,
            rasa=RasaGateway.from_settings(settings),
            repairs=RepairsClient(settings.repairs_url, settings.repairs_token(),
                                  timeout=settings.repairs_timeout_seconds),
        )
        return cls(settings, edge, delivery)

    @property
    def webhook(self) -> bool:
        return self.settings.telegram_mode == "webhook"

    async def start(self) -> None:
        app = self.application
        await app.initialize()
        with contextlib.suppress(TelegramError):  # the command menu is a nicety, never a reason not to start
            await app.bot.set_my_commands(list(COMMANDS))
        if self.webhook:
            assert self.settings.telegram_webhook_url and self.settings.telegram_webhook_secret
            await app.start()
            # Pending updates are kept: they are what residents sent while the bot was restarting.
            await app.bot.set_webhook(self.settings.telegram_webhook_url,
                                      secret_token=self.settings.telegram_webhook_secret.get_secret_value(),
                                      allowed_updates=ALLOWED_UPDATES, max_connections=40)
        else:
            assert app.updater is not None
            await app.updater.start_polling(timeout=self.settings.telegram_poll_timeout,
                                            allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
            await app.start()
        if self.delivery is not None and self.delivery.enabled:
            # Proactive updates go out on the edge's own client: one rate limiter for replies and updates,
            # and the chats' shared state, so taps on their long-payload buttons resolve on any replica.
            self.worker = build_worker(self.settings, self.delivery, telegram_bot=app.bot,
                                       payloads=self.services.state)
            self.worker.start()
        log.info("telegram edge started", extra={"mode": self.settings.telegram_mode,
                                                 "delivery": self.worker is not None})

    async def stop(self) -> None:
        app = self.application
        if self.worker is not None:
            await self.worker.aclose()  # finishes the batch in hand while the client can still send
            self.worker = None
        # The webhook stays registered, so Telegram holds updates until the bot is back.
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await self.services.aclose()
        log.info("telegram edge stopped")

    async def accept(self, data: dict[str, Any]) -> None:
        """One update from the webhook, queued for the same processing as polled ones, and waited for (up to
        WEBHOOK_WAIT_SECONDS): Telegram is told 200 only once the update has run, so a replica that dies
        mid-turn never acknowledged it, and Telegram, or the load balancer at once, sends it again."""
        update = Update.de_json(data, self.application.bot)
        processor = self.application.update_processor
        settled = processor.settled(update.update_id) if isinstance(processor, ChatOrderedProcessor) else None
        await self.application.update_queue.put(update)
        if settled is not None:
            # A turn that runs longer (a hung dependency) goes on after the answer: Telegram would otherwise
            # give up on the connection and send the update again while it runs.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(settled), WEBHOOK_WAIT_SECONDS)
