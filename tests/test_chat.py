"""The terminal chat (`make chat`): how it shows replies and buttons, what typing a number sends, and what
happens when the assistant is down or slow. The whole chat against a running demo is in test_demo.py."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from repairs_common import turn_signing

from evaluation.rasa_process import free_port
from repairs.demo.chat import Button, ChatError, SignedChannel, render, resolve, run

ROOT = Path(__file__).resolve().parent.parent
SECRET = "chat-test-secret-" + "k" * 32

GREETING = [
    {"recipient_id": "web:x", "text": "Hello! What can I help with?",
     "buttons": [{"title": "Report a repair", "payload": "I want to report a repair"},
                 {"title": "Check my repairs", "payload": "/check_status"}]},
]


def test_render_numbers_the_buttons_and_indents_long_text():
    lines, buttons = render([{"text": "Line one\nLine two"}, *GREETING])
    assert lines == ["bot> Line one", "     Line two", "bot> Hello! What can I help with?",
                     "     [1] Report a repair", "     [2] Check my repairs"]
    assert buttons == [Button("Report a repair", "I want to report a repair"),
                       Button("Check my repairs", "/check_status")]


def test_render_shows_images_and_says_when_there_is_no_reply():
    lines, buttons = render([{"image": "http://127.0.0.1/photo.jpg"}])
    assert lines == ["bot> [image] http://127.0.0.1/photo.jpg"] and buttons == []
    assert render([]) == (["bot> (no reply)"], [])


def test_a_number_or_a_title_sends_the_payload_anything_else_is_sent_as_typed():
    _, buttons = render(GREETING)
    assert resolve("2", buttons) == ("/check_status", False)
    assert resolve("report a repair", buttons) == ("I want to report a repair", False)
    assert resolve("3", buttons) == ("3", True)  # no third button
    assert resolve("0", buttons) == ("0", True)
    assert resolve("2", []) == ("2", True)  # no buttons on the last reply: a number is just text
    assert resolve("my boiler is broken", buttons) == ("my boiler is broken", True)
    assert resolve("/check_status", buttons) == ("/check_status", True)  # typed: Rasa reads it as words


class _FakeRasa(BaseHTTPRequestHandler):
    """A stand-in for Rasa's signed channel over real HTTP: checks the signature as Rasa does, and echoes each
    message back (as Rasa reads it) with the greeting's buttons; refuses an unsigned or forged one."""

    received: list[dict[str, object]] = []
    delay = 0.0

    def do_GET(self) -> None:
        self._send(b"Hello from Rasa: 3.6.21", "text/plain")

    def do_POST(self) -> None:
        import json

        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != turn_signing.WEBHOOK_PATH:
            self.send_error(404)
            return
        try:
            turn = turn_signing.verify(SECRET, raw, self.headers.get(turn_signing.SIGNATURE_HEADER), now=time.time())
        except turn_signing.TurnRefused:
            self.send_error(401)
            return
        body = json.loads(raw)
        type(self).received.append(body)
        time.sleep(type(self).delay)
        reply = [{"recipient_id": turn.sender, "text": f"you said {turn.text_for_assistant}",
                  "buttons": GREETING[0]["buttons"]}]
        self._send(json.dumps(reply).encode(), "application/json")

    def _send(self, body: bytes, content_type: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the client timed out and went away, as the timeout test intends

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_rasa() -> Iterator[str]:
    _FakeRasa.received, _FakeRasa.delay = [], 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _chat(url: str, typed: list[str], timeout: float = 5.0, secret: str = SECRET) -> tuple[int, str]:
    lines = iter(typed)

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    with httpx.Client(timeout=timeout) as http:
        code = run(SignedChannel(url, "web:test", http, secret), read, out)
    return code, out.getvalue()


def test_chat_sends_payloads_for_numbers_and_ends_on_quit(fake_rasa):
    code, output = _chat(fake_rasa, ["hello", "2", "/quit", "never sent"])
    assert code == 0
    assert [(m["message"], m["input"]) for m in _FakeRasa.received] == [("hello", "typed"), ("/check_status", "button")]
    assert all(m["sender"] == "web:test" for m in _FakeRasa.received)
    assert "bot> you said hello" in output and "     [2] Check my repairs" in output
    assert "bot> you said /check_status" in output


def test_typed_slash_words_are_signed_as_typed_so_they_choose_no_intent(fake_rasa):
    _chat(fake_rasa, ['/check_status{"ticket_ref": "HR-2222ZZ"}'])
    assert [m["input"] for m in _FakeRasa.received] == ["typed"]


def test_a_chat_with_the_wrong_secret_is_told_why_it_was_refused(fake_rasa):
    code, output = _chat(fake_rasa, ["hello", "/quit"], secret="w" * 40)
    assert code == 0 and _FakeRasa.received == []
    assert "!! The assistant refused the message (401)" in output and "var/rasa-channel-secret" in output


def test_chat_ends_on_end_of_input(fake_rasa):
    code, _ = _chat(fake_rasa, ["hello"])
    assert code == 0 and len(_FakeRasa.received) == 1


def test_a_slow_answer_times_out_with_a_clear_message_and_the_chat_goes_on(fake_rasa):
    _FakeRasa.delay = 1.5
    code, output = _chat(fake_rasa, ["hello", "/quit"], timeout=0.5)
    assert code == 0
    assert "!! The assistant did not answer in time" in output


def test_a_down_server_is_reported_clearly():
    port = free_port()  # nothing listens here
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    with httpx.Client(timeout=2) as http, pytest.raises(ChatError, match=r"Cannot reach the assistant.*make demo"):
        SignedChannel(f"http://127.0.0.1:{port}", "web:test", http, SECRET).send("hello")


def _chat_command(port: int, var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "RASA_CHANNEL_SECRET"}
    return subprocess.run([sys.executable, "-m", "repairs.demo.chat", "--url", f"http://127.0.0.1:{port}"],
                          cwd=ROOT, input="hello\n", capture_output=True, text=True, timeout=60,
                          env={**environ, "DEMO_VAR_DIR": str(var_dir), **env})


def test_the_chat_command_exits_with_a_message_when_the_demo_is_not_running(tmp_path: Path):
    port = free_port()
    result = _chat_command(port, tmp_path, RASA_CHANNEL_SECRET=SECRET)
    assert result.returncode == 2
    assert f"Cannot reach the assistant at http://127.0.0.1:{port}. Is `make demo` running?" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_chat_command_signs_with_the_demos_secret_from_var(fake_rasa: str, tmp_path: Path):
    (tmp_path / "rasa-channel-secret").write_text(SECRET + "\n")
    result = _chat_command(int(fake_rasa.rsplit(":", 1)[1]), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bot> you said hello" in result.stdout


def test_the_chat_command_without_a_secret_says_where_to_get_one(tmp_path: Path):
    result = _chat_command(free_port(), tmp_path)  # no demo has run here: no var/rasa-channel-secret
    assert result.returncode == 2
    assert "start `make demo` first" in result.stderr and "RASA_CHANNEL_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
