"""Entry point for ASGI servers: `uvicorn --factory repairs.asgi:create_from_env`."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from pydantic import SecretStr

from repairs.app import create_app
from repairs.auth.secrets import read_or_create_secret
from repairs.context import build_context
from repairs.logs import configure_logging
from repairs.settings import Settings

log = logging.getLogger(__name__)


def demo_token(settings: Settings) -> SecretStr:
    """Demo mode without REPAIRS_API_TOKEN: make one, and keep it where the other local processes
    (bot, action server) can read it, so a restart does not break them."""
    path = Path(settings.photo_dir).parent / "repairs-api-token"
    return SecretStr(read_or_create_secret(path))


def prepare(settings: Settings) -> Settings:
    if settings.demo_mode and settings.api_token is None:
        settings = settings.model_copy(update={"api_token": demo_token(settings)})
    if settings.api_token is None:
        log.warning("REPAIRS_API_TOKEN is not set: the bot and the action server cannot call this service")
    if settings.demo_mode or settings.migrate_on_start:
        from repairs.migrate import upgrade

        upgrade(settings.database_url)
    return settings


def create_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(build_context(prepare(settings)))
