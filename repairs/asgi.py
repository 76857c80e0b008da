"""Entry point for ASGI servers: `uvicorn --factory repairs.asgi:create_from_env`."""

from __future__ import annotations

from fastapi import FastAPI

from repairs.app import create_app
from repairs.context import build_context
from repairs.logs import configure_logging
from repairs.settings import Settings
from repairs.startup import prepare


def create_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(build_context(prepare(settings)))
