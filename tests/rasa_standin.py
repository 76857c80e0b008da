"""A stand-in for Rasa's REST channel on 127.0.0.1, for edge tests where the assistant's understanding is
not what is tested: every message is answered with its words and two buttons, and recorded.

The real assistant behind the real edges is in tests/test_telegram_bot.py and tests/test_webchat_browser.py.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class RasaStandIn:
    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []  # (sender, message), in arrival order
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def messages_from(self, sender: str) -> list[str]:
        with self._lock:
            return [text for who, text in self.received if who == sender]

    async def _webhook(self, request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        sender, text = str(body.get("sender")), str(body.get("message"))
        with self._lock:
            self.received.append((sender, text))
        return JSONResponse([{"recipient_id": sender, "text": f"You said: {text}",
                              "buttons": [{"title": "Yes", "payload": "/affirm"},
                                          {"title": "No", "payload": "/deny"}]}])

    def __enter__(self) -> RasaStandIn:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self._port = int(s.getsockname()[1])
        app = Starlette(routes=[Route("/webhooks/rest/webhook", self._webhook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self._port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="rasa-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("Rasa stand-in did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
