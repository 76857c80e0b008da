"""The bot's gateway to Rasa under a burst: a 503 (no Rasa ran the turn: the balancer had no replica in its
rotation, or the signed channel could not check the nonce) is tried again with growing pauses for up to
UNAVAILABLE_BUDGET_SECONDS, each attempt signed afresh; other errors are not tried again past one retry.
Against a real HTTP server on loopback that answers as the balancer does."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from repairs_common import turn_signing

from bot import rasa_gateway
from bot.rasa_gateway import AssistantUnavailable, RasaGateway

SECRET = "s" * 64


class Balancer(ThreadingHTTPServer):
    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = statuses  # answered in turn, then 200
        self.seen: list[tuple[float, str]] = []  # (when, signature) of each request


class _Handler(BaseHTTPRequestHandler):
    server: Balancer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((time.monotonic(), self.headers.get(turn_signing.SIGNATURE_HEADER) or ""))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        body = json.dumps([{"text": "Hello"}] if status == 200 else {"error": "unavailable"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def balancer(request: pytest.FixtureRequest) -> Iterator[Balancer]:
    server = Balancer(list(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _send(server: Balancer) -> list[str]:
    async def scenario() -> list[str]:
        gateway = RasaGateway(f"http://127.0.0.1:{server.server_address[1]}", channel_secret=SECRET, timeout=5)
        try:
            return [r.text for r in await gateway.send("telegram:1", "hello", {}, typed=True)]
        finally:
            await gateway.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize("balancer", [[503, 503, 503]], indirect=True)
def test_a_burst_of_503s_is_waited_out_with_growing_pauses(balancer: Balancer) -> None:
    assert _send(balancer) == ["Hello"]
    times = [t for t, _ in balancer.seen]
    assert len(times) == 4
    pauses = [b - a for a, b in itertools.pairwise(times)]
    assert pauses[0] >= 0.45 and pauses[1] >= 0.95 and pauses[2] >= 1.95, pauses
    assert len({signature for _, signature in balancer.seen}) == 4  # signed afresh: no replay refused


@pytest.mark.parametrize("balancer", [[503] * 50], indirect=True)
def test_503s_past_the_budget_are_the_assistant_unavailable(balancer: Balancer) -> None:
    started = time.monotonic()
    with pytest.raises(AssistantUnavailable, match="503"):
        _send(balancer)
    assert time.monotonic() - started <= rasa_gateway.UNAVAILABLE_BUDGET_SECONDS + 1
    assert 3 <= len(balancer.seen) <= 6


@pytest.mark.parametrize("balancer", [[502, 502, 200]], indirect=True)
def test_other_errors_are_tried_once_more_only(balancer: Balancer) -> None:
    with pytest.raises(AssistantUnavailable, match="502"):
        _send(balancer)
    assert len(balancer.seen) == 2
