"""An empty answer to a typed message is a failure the bot apologises for, never silence (issue 15).

Rasa answers a turn whose action failed (an action server hung past the balancer's cut-off, or one that
raised) with nothing at all: it drops the action's events and listens again. Our Rasa's signed channel says
sorry itself (rasa_channel/signed.py, tests/test_cluster_hung_actions.py); the bot covers any empty answer that
still reaches it. The turn did run, so the resident is not told their message was not sent. Against a real
HTTP server on loopback that answers as such a Rasa does."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.rasa_gateway import NothingSaid, RasaGateway
from bot.telegram import texts as telegram_texts
from bot.webchat import texts as webchat_texts

SECRET = "s" * 64


class _Silent(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps([]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def silent_rasa() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _send(url: str, *, typed: bool) -> list[object]:
    async def go() -> list[object]:
        gateway = RasaGateway(url, channel_secret=SECRET, timeout=5)
        try:
            return list(await gateway.send("telegram:1", "my boiler is broken", {}, typed=typed))
        finally:
            await gateway.aclose()
    return asyncio.run(go())


def test_nothing_said_to_a_typed_message_is_a_failure(silent_rasa: str) -> None:
    with pytest.raises(NothingSaid):
        _send(silent_rasa, typed=True)


def test_a_button_payload_may_be_answered_with_nothing(silent_rasa: str) -> None:
    assert _send(silent_rasa, typed=False) == []


@pytest.mark.parametrize("said", [telegram_texts.NO_ANSWER, webchat_texts.NO_ANSWER])
def test_the_apology_says_the_message_arrived_and_what_to_do(said: str) -> None:
    assert "not been sent" not in said and "try again" in said
    assert "status of your repairs" in said and "0800 111 999" in said and "999" in said
