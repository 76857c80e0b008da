"""`python -m bot`: the bot's HTTP server, with Telegram when TELEGRAM_BOT_TOKEN is set."""

from __future__ import annotations

import logging

import uvicorn
from starlette.applications import Starlette

from bot.delivery_settings import DeliverySettings
from bot.settings import BotSettings
from bot.telegram.edge import TelegramEdge
from bot.web import build_web_app
from repairs.logs import configure_logging

log = logging.getLogger(__name__)


def create_app(settings: BotSettings) -> Starlette:
    telegram = TelegramEdge.from_settings(settings, DeliverySettings()) if settings.telegram_enabled else None
    return build_web_app(settings, telegram)


def main() -> None:
    settings = BotSettings()
    configure_logging(settings.log_level)
    # python-telegram-bot logs whole updates (residents' messages) at DEBUG: never let them through.
    for name in ("telegram", "apscheduler"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))
    if not settings.telegram_enabled:
        log.info("TELEGRAM_BOT_TOKEN is not set: Telegram is off")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)
