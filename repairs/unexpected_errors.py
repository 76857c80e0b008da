"""The outermost guard of every request: a request id, and an unexpected error answered and logged safely.

Every response carries `X-Request-ID`: the caller's own when it sent a short safe token (so the bot can pass
one through), else a new one. An error no handler expected is answered with a 500 problem document carrying
that id, and logged with only the exception's type, where it was raised, the route's template
(`/api/v1/tickets/{reference}`, never the path with its ids) and the request id: exception messages and
tracebacks can hold personal data (a database error quotes the statement it failed on, a `KeyError` its key).

It catches the error rather than leaving it to Starlette's last-resort handler because that handler re-raises
after answering, so that the server logs the traceback: uvicorn's "Exception in ASGI application" would print
the very message this module keeps out of the logs.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from types import TracebackType

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repairs.problems import problem_response

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it looks like an id (8 to 64 letters, digits, '.', '_' or '-'): anything
# longer or freer could be text, and it goes into log lines.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a short safe token, else a new random one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template; the raw path holds references and ids, so it is never logged."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(no route)"


def raised_where(traceback: TracebackType | None) -> str:
    """`file:line` of the innermost frame in this project's code (the library frames below it say less)."""
    where = "(unknown)"
    while traceback is not None:
        code_file = traceback.tb_frame.f_code.co_filename
        filename = Path(code_file).resolve()
        # "<...>" names generated code (SQLAlchemy makes some), which has no file of ours.
        if not code_file.startswith("<") and filename.is_relative_to(_PACKAGE_ROOT) and ".venv" not in filename.parts:
            where = f"{filename.relative_to(_PACKAGE_ROOT)}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


class RequestGuard:
    """Pure ASGI middleware (added last, so it wraps all the others)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.error(
                "unexpected error",
                extra={
                    "error_type": type(exc).__name__,
                    "where": raised_where(exc.__traceback__),
                    "method": scope.get("method", ""),
                    "route": route_template(scope),
                    "request_id": request_id,
                },
            )
            if response_started:
                # Half a response is out: nothing sensible can follow it. Ending here closes the connection.
                return
            response = problem_response(
                500,
                "internal_error",
                "Something went wrong on our side",
                "Nothing you sent was lost; please try again shortly.",
                headers={REQUEST_ID_HEADER: request_id},
                request_id=request_id,
            )
            await response(scope, receive, send)
