"""A stand-in for Rasa's signed channel on 127.0.0.1, for edge tests where the assistant's understanding is
not what is tested: every turn the bot signed is answered with its words and two buttons, and recorded (as
Rasa would read it: typed words without their leading slashes); an unsigned or forged one gets 401.

The real assistant behind the real edges is in tests/test_telegram_bot.py and tests/test_webchat_browser.py.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time

import uvicorn
from repairs_common import turn_signing
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class RasaStandIn:
    def __init__(self) -> None:
        self.secret = secrets.token_hex(32)  # the bot's RASA_CHANNEL_SECRET
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
        try:
            turn = turn_signing.verify(self.secret, await request.body(),
                                       request.headers.get(turn_signing.SIGNATURE_HEADER), now=time.time())
        except turn_signing.TurnRefused:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        sender, text = turn.sender, turn.text_for_assistant
        with self._lock:
            self.received.append((sender, text))
        return JSONResponse([{"recipient_id": sender, "text": f"You said: {text}",
                              "buttons": [{"title": "Yes", "payload": "/affirm"},
                                          {"title": "No", "payload": "/deny"}]}])

    def __enter__(self) -> RasaStandIn:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self._port = int(s.getsockname()[1])
        app = Starlette(routes=[Route(turn_signing.WEBHOOK_PATH, self._webhook, methods=["POST"])])
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
