"""rasa-sdk's action server app, answering only calls that carry Rasa's token.

Rasa sends the token as `Authorization: Bearer ...` (the action endpoint's `headers` in endpoints*.yml).
Every route but `/health` (which says nothing and is what health checks probe) checks it in constant time;
a call without it gets 401 and runs nothing.
"""

from __future__ import annotations

import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from action_server.settings import ActionServerSettings

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})


def build_app(settings: ActionServerSettings, actions_package: str = "actions") -> Sanic:
    # No CORS origins: no browser has any business calling the action server.
    app = create_app(actions_package, cors_origins="")
    require_token(app, settings.action_token)
    return app


def require_token(app: Sanic, token: str) -> None:
    expected = f"Bearer {token}".encode()

    @app.on_request
    async def check_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if hmac.compare_digest(given, expected):
            return None
        logger.warning("action server refused a call without Rasa's token (%s %s)", request.method, request.path)
        return response.json({"error": "unauthorized"}, status=401)
