"""What the service settles once before it serves: the demo's token and secret key, and migrations.

Apart from repairs.asgi (the app factory) because `python -m repairs serve` calls this in uvicorn's supervisor
process, which only watches the workers: importing the app there (FastAPI, SQLAlchemy, every route) held about
80 MB that no request ever used, beside the same again in each worker.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import SecretStr

from repairs.auth.secrets import read_or_create_secret
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
    if settings.demo_mode and settings.secret_key is None:
        # Where `make demo` keeps its own, so a bare `serve --demo` agrees with it.
        path = Path(settings.photo_dir).parent / "secret-key"
        settings = settings.model_copy(update={"secret_key": SecretStr(read_or_create_secret(path, 24))})
    if settings.api_token is None:
        log.warning("REPAIRS_API_TOKEN is not set: the bot and the action server cannot call this service")
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        # It keys the throttles' hashes as well as signing sessions: without it nothing can count safely.
        log.warning("REPAIRS_SECRET_KEY is not set: officers cannot sign in and residents cannot verify")
    if settings.demo_mode or settings.migrate_on_start:
        # Alembic and the tables only when migrating: a production supervisor never does.
        from repairs.migrate import upgrade

        upgrade(settings.database_url)
    return settings
