"""rasa-sdk's action server app, answering only calls that carry Rasa's token, and failing without a word
of the conversation.

Rasa sends the token as `Authorization: Bearer ...` (the action endpoint's `headers` in endpoints*.yml).
Every route but `/health` (which says nothing and is what health checks probe) checks it in constant time;
a call without it gets 401 and runs nothing.

rasa-sdk's own handler for an action that raises logs the exception with its traceback and answers 500 with
the exception's message and the whole request: the tracker, with every message and slot. Rasa then logs that
answer. Here an action's failure is logged by the action's name, the exception's type and the line that
raised it, and answered with no more than that.
"""

from __future__ import annotations

import hmac
import json
import logging
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

from actions.client import ClientSettings, RepairsClient, get_client, set_client
from actions.fallback import restore_confirmed_words
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from action_server.settings import ActionServerSettings

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})
# The actions' own code, whose innermost frame says where a failure was raised (rasa-sdk's frames say less).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build_app(settings: ActionServerSettings, actions_package: str = "actions") -> Sanic:
    # No CORS origins: no browser has any business calling the action server.
    app = create_app(actions_package, cors_origins="")
    require_token(app, settings.action_token)
    give_back_confirmed_words(app)
    answer_failures_privately(app)
    share_one_client(app, settings)
    return app


def share_one_client(app: Sanic, settings: ActionServerSettings) -> None:
    """The actions' one client to the repairs service, from these settings (not read again from the
    environment): opened in the server's own event loop, so each worker process has one connection pool shared
    by every conversation, and closed when the server stops."""

    async def open_client(app: Sanic, loop: Any) -> None:
        set_client(RepairsClient(ClientSettings(base_url=settings.repairs_url, token=settings.repairs_token)))

    async def close_client(app: Sanic, loop: Any) -> None:
        client = get_client()
        set_client(None)
        await client.aclose()

    app.register_listener(open_client, "before_server_start")
    app.register_listener(close_client, "after_server_stop")


def answer_failures_privately(app: Sanic) -> None:
    """Replace rasa-sdk's exception handler (registered for Exception; the later registration wins)."""

    @app.exception(Exception)
    async def action_failed(request: Request, exception: Exception) -> HTTPResponse:
        action = _action_name(request)
        logger.error("action %s failed: %s at %s", action, type(exception).__name__,
                     raised_where(exception.__traceback__))
        return response.json({"error": "action_failed", "action_name": action}, status=500)


def _action_name(request: Request) -> str:
    try:
        body: Any = request.json
    except Exception:  # an unreadable body names no action
        return "(unknown)"
    name = body.get("next_action") if isinstance(body, dict) else None
    # An action's name is ours (domain.yml), but the field is the caller's: keep it short and plain.
    return name if isinstance(name, str) and name.replace("_", "").isalnum() and len(name) <= 80 else "(unknown)"


def raised_where(traceback: TracebackType | None) -> str:
    """`file:line` of the innermost frame in this project's code."""
    where = "(unknown)"
    while traceback is not None:
        code_file = traceback.tb_frame.f_code.co_filename
        filename = Path(code_file).resolve()
        # "<...>" names generated code, which has no file of ours.
        ours = filename.is_relative_to(PROJECT_ROOT) and ".venv-rasa" not in filename.parts
        if ours and not code_file.startswith("<"):
            where = f"{filename.relative_to(PROJECT_ROOT)}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


def give_back_confirmed_words(app: Sanic) -> None:
    """Every action of the turn after a "Yes" to "Did you mean ...?" sees the resident's words, not the button's
    (actions/fallback.py says why). Done to the call before rasa-sdk reads it, so no action has to remember; the
    token is checked first (middleware runs in the order it is registered)."""

    @app.on_request
    async def words_back(request: Request) -> None:
        if request.path != "/webhook" or request.method != "POST":
            return
        deflated = request.headers.get("Content-Encoding") == "deflate"
        try:
            call = json.loads(zlib.decompress(request.body)) if deflated else request.json
        except (ValueError, zlib.error):
            return  # rasa-sdk answers a call it cannot read
        tracker = call.get("tracker") if isinstance(call, dict) else None
        if not isinstance(tracker, dict):
            return
        restore_confirmed_words(tracker)
        if deflated:
            request.body = zlib.compress(json.dumps(call).encode())


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
