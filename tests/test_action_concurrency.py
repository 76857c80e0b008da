"""One slow call to the repairs service stalls only its own conversation on the action server.

The real action server (Rasa's Python 3.10, `python -m action_server`), called as Rasa calls it, against a
stand-in repairs service that holds one resident's request until the test lets it go. While that conversation
waits, another conversation's turn on the same action server runs to the end; only then is the first let go,
and it completes too. Order, not time, is asserted: with actions that block the event loop the second turn
could not finish before the first was released.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from evaluation.rasa_process import free_port, managed_process, rasa_env, wait_until_ready
from tests.assistant_stack import action_server_command
from tests.json_standin import JsonAnswers

SLOW_CHAT, QUICK_CHAT = "telegram:880001", "telegram:880002"
HOLD_LIMIT = 120  # seconds: the stand-in lets a held request go by itself after this, so nothing hangs for ever


@dataclass
class Held:
    """The stand-in's hold on the slow resident's request."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class _Service(JsonAnswers):
    held = Held()

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/residents/me"):
            if self.headers.get("X-Resident-Channel") == SLOW_CHAT:
                type(self).held.arrived.set()
                type(self).held.release.wait(HOLD_LIMIT)
            self.answer({"id": 1, "first_name": "Sam", "tenure": "tenant"})
        elif self.path.startswith("/api/v1/tickets"):
            self.answer({"items": []})
        else:
            self.answer({"code": "not_found", "detail": ""}, status=404)


@dataclass
class ActionServer:
    url: str
    token: str
    log: Path


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    workdir: Path = tmp_path_factory.mktemp("action-concurrency")
    service = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    service.daemon_threads = True
    threading.Thread(target=service.serve_forever, daemon=True).start()
    token, port = secrets.token_hex(32), free_port()
    env = rasa_env()
    env.update({"REPAIRS_API_URL": f"http://127.0.0.1:{service.server_address[1]}", "REPAIRS_API_TOKEN": "t" * 32,
                "ACTION_SERVER_TOKEN": token, "ACTION_SERVER_PORT": str(port)})
    try:
        with managed_process(action_server_command(), env, workdir / "actions.log") as process:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(process, lambda: httpx.get(f"{url}/health", timeout=2).status_code < 500,
                             "action server", 120)
            yield ActionServer(url, token, workdir / "actions.log")
    finally:
        _Service.held.release.set()
        service.shutdown()


def check_status(server: ActionServer, sender: str) -> httpx.Response:
    """Rasa's call to run action_check_status after "how are my repairs doing?"."""
    latest = {"text": "how are my repairs doing", "intent": {"name": "check_status", "confidence": 0.99},
              "entities": [], "message_id": uuid.uuid4().hex}
    tracker = {"sender_id": sender, "slots": {}, "latest_message": latest, "paused": False,
               "events": [{"event": "user", "text": latest["text"], "parse_data": latest}],
               "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    return httpx.post(f"{server.url}/webhook", timeout=HOLD_LIMIT + 60,
                      headers={"Authorization": f"Bearer {server.token}"},
                      json={"next_action": "action_check_status", "sender_id": sender, "tracker": tracker,
                            "domain": {}, "version": "3.6.21"})


def said(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return " ".join(str(r.get("text") or "") for r in answer.json()["responses"])


def test_a_slow_service_call_stalls_only_its_own_conversation(action_server: ActionServer) -> None:
    _Service.held = Held()
    finished: list[str] = []
    answers: dict[str, httpx.Response] = {}

    def slow_turn() -> None:
        answers["slow"] = check_status(action_server, SLOW_CHAT)
        finished.append("slow")

    slow = threading.Thread(target=slow_turn, daemon=True)
    slow.start()
    # The slow conversation's action is now waiting on the service, inside the action server.
    assert _Service.held.arrived.wait(60), "the slow conversation's call never reached the service"

    answers["quick"] = check_status(action_server, QUICK_CHAT)
    finished.append("quick")
    assert "You have no open repairs" in said(answers["quick"])
    assert slow.is_alive() and not _Service.held.release.is_set()

    _Service.held.release.set()
    slow.join(HOLD_LIMIT + 60)
    assert finished == ["quick", "slow"]
    assert "You have no open repairs" in said(answers["slow"])
    # httpx's line per request (its URL) is kept out of the action server's log, as is who was asking.
    logged = action_server.log.read_text(encoding="utf-8")
    assert "HTTP Request" not in logged and "880001" not in logged
