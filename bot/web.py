"""The bot's HTTP server (an ASGI app on BOT_PORT): the Telegram webhook now, the web chat later.

The webhook checks Telegram's secret token in constant time on every request; a wrong or missing one
gets 403 and the body is never read.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.settings import BotSettings
from bot.telegram.edge import TelegramEdge
from bot.webchat import WebChat

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name, not a secret
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_UPDATE_BYTES = 1024 * 1024  # a Telegram update is a few kilobytes; anything near this is not one


def build_web_app(settings: BotSettings, telegram: TelegramEdge | None = None,
                  routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The app; `routes` lets other channels (the web chat) mount on the same server."""
    all_routes: list[BaseRoute] = [Route("/healthz", _healthz(settings, telegram), methods=["GET"])]
    if telegram is not None and telegram.webhook:
        assert settings.telegram_webhook_secret is not None
        all_routes.append(Route(settings.webhook_path,
                                _webhook(telegram, settings.telegram_webhook_secret.get_secret_value()),
                                methods=["POST"]))
    webchat = WebChat.from_settings(settings)  # the page at "/" and its API (bot/webchat/)
    all_routes.extend([*webchat.routes(), *routes])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if telegram is not None:
            await telegram.start()
        try:
            yield
        finally:
            if telegram is not None:
                await telegram.stop()
            await webchat.aclose()

    return Starlette(routes=all_routes, lifespan=lifespan)


def _healthz(settings: BotSettings, telegram: TelegramEdge | None) -> Endpoint:
    async def healthz(request: Request) -> Response:
        running = telegram is not None and telegram.application.running
        return JSONResponse({"status": "ok", "telegram": settings.telegram_mode if running else "off"})

    return healthz


def _webhook(telegram: TelegramEdge, secret: str) -> Endpoint:
    expected = secret.encode()

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1", errors="replace")
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook refused: wrong or missing secret token")
            return Response(status_code=403)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_UPDATE_BYTES:
                return Response(status_code=413)
        try:
            data = json.loads(body)
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        try:
            await telegram.accept(data)
        except Exception as exc:  # whatever python-telegram-bot raises on a malformed update
            # Answered 200 all the same: Telegram resends anything else, and an update that cannot be read
            # would come back for ever, holding up the chats behind it.
            log.warning("telegram update not readable; dropped: %s", type(exc).__name__)
        return Response(status_code=200)

    return telegram_webhook
