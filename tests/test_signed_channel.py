"""Rasa takes a resident's turn only through the signed channel, and the action server answers only Rasa:
through real Rasa, action server and repairs service processes (tests/assistant_stack.py).

A turn that is unsigned, signed with another secret, altered after signing, stale or replayed gets 401 and
never reaches the conversation; typed "/intent" text is read as words; a verified resident's repairs cannot
be listed by anyone without the bot's secret, at Rasa or at the action server; Rasa's REST channel is gone;
a turn cut off half-way leaves no message text in Rasa's log; and the action server will not start
without its settings.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from repairs_common import turn_signing

from evaluation.rasa_process import RASA_PYTHON, ROOT, free_port, rasa_env, rasa_server, train
from tests.assistant_stack import Stack, assistant_stack, texts

TENANT = ("T-100001", "NW1 8YL")  # seed-demo's first home (a tenant)
_chats = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with assistant_stack(tmp_path_factory.mktemp("signed-channel")) as running:
        yield running


def new_chat() -> str:
    return f"telegram:{880000 + next(_chats)}"


def user_events(stack: Stack, sender: str) -> list[dict[str, object]]:
    """The resident's messages in the conversation Rasa keeps for `sender` (its HTTP API, with its token)."""
    r = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                  params={"token": stack.rasa_token, "include_events": "ALL"}, timeout=10)
    r.raise_for_status()
    return [e for e in r.json().get("events") or [] if e.get("event") == "user"]


def webhook(stack: Stack) -> str:
    return f"{stack.rasa_url}{turn_signing.WEBHOOK_PATH}"


def verify(stack: Stack, chat: str) -> None:
    """Verify `chat` as the demo tenant, the way the bot does: signed turns."""
    stack.say(chat, "/start_verification")
    stack.say(chat, TENANT[0])
    assert "verified" in texts(stack.say(chat, TENANT[1]))


def refused_for(stack: Stack, reason: str, before: int) -> bool:
    """Whether Rasa's log says, after `before` characters, that it refused a turn for `reason`."""
    return f"signed channel refused a turn: {reason}" in stack.log("rasa")[before:]


# -- a signed turn, and each refused one -------------------------------------------------------------


def test_a_signed_turn_is_answered(stack: Stack) -> None:
    chat = new_chat()
    r = stack.post_turn(chat, "hello", typed=True)
    assert r.status_code == 200
    replies = r.json()
    assert replies and all({"recipient_id", "text"} <= set(reply) for reply in replies if "text" in reply)
    assert [e["text"] for e in user_events(stack, chat)] == ["hello"]


def test_an_unsigned_turn_is_refused_and_never_reaches_the_conversation(stack: Stack) -> None:
    chat, before = new_chat(), len(stack.log("rasa"))
    r = httpx.post(webhook(stack), json={"sender": chat, "message": "hello unsigned"}, timeout=30)
    assert r.status_code == 401
    body, _ = turn_signing.signed_request(stack.channel_secret, chat, "hello unsigned", {}, typed=True)
    assert httpx.post(webhook(stack), content=body, headers={"Content-Type": "application/json"},
                      timeout=30).status_code == 401
    assert user_events(stack, chat) == []
    assert refused_for(stack, turn_signing.UNSIGNED, before)
    assert "hello unsigned" not in stack.log("rasa") and chat not in stack.log("rasa")


def test_a_turn_signed_with_another_secret_is_refused(stack: Stack) -> None:
    chat, before = new_chat(), len(stack.log("rasa"))
    body, headers = turn_signing.signed_request("not-the-bots-secret-" + "x" * 32, chat, "hello", {}, typed=True)
    assert httpx.post(webhook(stack), content=body, headers=headers, timeout=30).status_code == 401
    assert user_events(stack, chat) == []
    assert refused_for(stack, turn_signing.FORGED, before)


@pytest.mark.parametrize(("field", "value"), [
    ("sender", "telegram:880999"),
    ("message", "cancel my repair"),
    ("input", turn_signing.BUTTON),
    ("metadata", {"channel": "web"}),
])
def test_a_turn_altered_after_signing_is_refused(stack: Stack, field: str, value: object) -> None:
    chat, before = new_chat(), len(stack.log("rasa"))
    body, headers = turn_signing.signed_request(stack.channel_secret, chat, "hello", {"channel": "telegram"},
                                                typed=True)
    altered = {**json.loads(body), field: value}
    r = httpx.post(webhook(stack), content=json.dumps(altered).encode(), headers=headers, timeout=30)
    assert r.status_code == 401
    assert user_events(stack, chat) == [] and user_events(stack, "telegram:880999") == []
    assert refused_for(stack, turn_signing.FORGED, before)


def test_a_stale_turn_is_refused(stack: Stack) -> None:
    chat, before = new_chat(), len(stack.log("rasa"))
    body, headers = turn_signing.signed_request(stack.channel_secret, chat, "hello", {}, typed=True,
                                                now=time.time() - turn_signing.DEFAULT_MAX_AGE_SECONDS - 5)
    assert httpx.post(webhook(stack), content=body, headers=headers, timeout=30).status_code == 401
    assert user_events(stack, chat) == []
    assert refused_for(stack, turn_signing.STALE, before)


def test_a_replayed_turn_is_refused(stack: Stack) -> None:
    chat, before = new_chat(), len(stack.log("rasa"))
    body, headers = turn_signing.signed_request(stack.channel_secret, chat, "hello", {}, typed=True)
    assert httpx.post(webhook(stack), content=body, headers=headers, timeout=60).status_code == 200
    assert httpx.post(webhook(stack), content=body, headers=headers, timeout=60).status_code == 401
    assert [e["text"] for e in user_events(stack, chat)] == ["hello"]  # taken once
    assert refused_for(stack, turn_signing.REPLAYED, before)


def test_typed_intent_text_is_read_as_words_and_a_button_payload_as_it_is(stack: Stack) -> None:
    command = '/check_status{"ticket_ref": "HR-2222ZZ"}'
    typed_chat, button_chat = new_chat(), new_chat()
    assert stack.post_turn(typed_chat, command, typed=True).status_code == 200
    assert stack.post_turn(button_chat, command, typed=False).status_code == 200
    (typed,) = user_events(stack, typed_chat)
    (button,) = user_events(stack, button_chat)
    # Rasa reads "/intent{...}" as that intent only when the text starts with "/": typed, it never does.
    assert typed["text"] == 'check_status{"ticket_ref": "HR-2222ZZ"}'
    assert button["text"] == command
    assert button["parse_data"]["intent"]["name"] == "check_status"  # type: ignore[index]
    assert button["parse_data"]["intent"]["confidence"] == 1.0  # type: ignore[index]


def test_the_rest_channel_is_off(stack: Stack) -> None:
    r = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": new_chat(), "message": "hello"},
                   timeout=30)
    assert r.status_code == 404


# -- a verified resident's repairs, without the bot's secret -----------------------------------------------


def test_a_verified_residents_repairs_are_unreachable_without_the_bots_secret(stack: Stack) -> None:
    chat = new_chat()
    verify(stack, chat)
    asked = "any update on my repairs?"
    # The bot's own path lists them: the control, so the refusals below are not about a chat with none.
    listed = texts(stack.say(chat, asked))
    assert "HR-" in listed or "no open repairs" in listed
    before = len(user_events(stack, chat))

    # At Rasa: as the REST channel took it, unsigned, and signed with a guessed secret.
    unsigned = httpx.post(webhook(stack), json={"sender": chat, "message": asked}, timeout=30)
    forged_body, forged_headers = turn_signing.signed_request("guessed-" + "g" * 40, chat, asked, {}, typed=True)
    forged = httpx.post(webhook(stack), content=forged_body, headers=forged_headers, timeout=30)
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert "HR-" not in unsigned.text + forged.text
    assert len(user_events(stack, chat)) == before

    # At the action server, with the conversation and domain Rasa would send (read here with Rasa's API token,
    # which a process on the same network would not have either): without the action token, and with a wrong one.
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{chat}/tracker", params={"token": stack.rasa_token},
                        timeout=10).json()
    domain = httpx.get(f"{stack.rasa_url}/domain", params={"token": stack.rasa_token},
                       headers={"Accept": "application/json"}, timeout=10).json()
    call = {"next_action": "action_check_status", "sender_id": chat, "tracker": tracker, "domain": domain,
            "version": "3.6.21"}
    url = f"{stack.action_server_url}/webhook"
    for headers in ({}, {"Authorization": "Bearer " + "w" * 64}, {"Authorization": stack.action_token}):
        r = httpx.post(url, json=call, headers=headers, timeout=30)
        assert r.status_code == 401, headers
        assert "HR-" not in r.text
    # The same call with Rasa's token runs the action: the 401s above were the token, nothing else.
    allowed = httpx.post(url, json=call, headers={"Authorization": f"Bearer {stack.action_token}"}, timeout=30)
    assert allowed.status_code == 200
    said = " ".join(str(m.get("text")) for m in allowed.json()["responses"])
    assert "HR-" in said or "no open repairs" in said
    assert "action server refused a call without Rasa's token" in stack.log("actions")


# -- Rasa's log on a turn cut off half-way ---------------------------------------------------------------


@pytest.fixture
def hanging_action_server() -> Iterator[int]:
    """A port that accepts connections and never answers: an action server that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


def test_a_turn_that_times_out_leaves_no_message_text_in_rasas_log(hanging_action_server: int,
                                                                   tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{hanging_action_server}/webhook"\n')
    log = tmp_path / "rasa.log"
    secret, sender = "timeout-test-secret-" + "t" * 32, "telegram:886655"
    words = "qx-marker my boiler at flat 12 Quorndon House is broken"
    with rasa_server(train(ROOT / "models").path, endpoints=endpoints, log_file=log, channel_secret=secret) as rasa:
        body, headers = turn_signing.signed_request(secret, sender, words, {"channel": "telegram"}, typed=True)
        # The report starts a custom action, which hangs; the caller gives up, as the bot does after its timeout.
        with pytest.raises(httpx.TimeoutException):
            httpx.post(f"{rasa.url}{turn_signing.WEBHOOK_PATH}", content=body, headers=headers, timeout=8)
        deadline = time.monotonic() + 30
        while "was cancelled before it finished" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
    logged = log.read_text(errors="replace")
    assert "signed channel: a turn was cancelled before it finished" in logged, logged[-3000:]
    for personal in ("qx-marker", "Quorndon", "flat 12", "boiler", sender, "886655"):
        assert personal not in logged, f"{personal!r} is in Rasa's log"


# -- the action server will not start without its settings ------------------------------------------------


ACTION_SERVER_SETTINGS = {"REPAIRS_API_URL": "http://127.0.0.1:9", "REPAIRS_API_TOKEN": "service-token",
                          "ACTION_SERVER_TOKEN": "a" * 64}


@pytest.mark.parametrize(("missing", "value"), [
    ("REPAIRS_API_TOKEN", ""),
    ("REPAIRS_API_URL", ""),
    ("ACTION_SERVER_TOKEN", ""),
    ("ACTION_SERVER_TOKEN", "too-short"),
    ("REPAIRS_PHONE", "ring the council"),  # the number said when the service fails: it must be one
])
def test_the_action_server_refuses_to_start_without_its_settings(missing: str, value: str) -> None:
    port = free_port()
    env = {k: v for k, v in rasa_env().items() if k not in ACTION_SERVER_SETTINGS}
    env.update({**ACTION_SERVER_SETTINGS, missing: value, "ACTION_SERVER_PORT": str(port)})
    result = subprocess.run([str(RASA_PYTHON), "-m", "action_server"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "The action server cannot start" in result.stderr and missing in result.stderr
    assert "Traceback" not in result.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # it never listened


def test_rasa_refuses_to_start_with_a_short_channel_secret(tmp_path: Path) -> None:
    env = {**rasa_env(), "RASA_CHANNEL_SECRET": "short", "RASA_CHANNEL_REPLAY_STORE": f"sqlite:///{tmp_path}/n.db"}
    (tmp_path / "endpoints.yml").write_text("{}\n")
    command = [str(ROOT / ".venv-rasa" / "bin" / "rasa"), "run", "--enable-api", "--auth-token=t" + "0" * 31,
               "--port", str(free_port()), "--credentials", str(ROOT / "credentials.yml"),
               "--endpoints", str(tmp_path / "endpoints.yml"), "--model", str(train(ROOT / "models").path)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0
    assert "turn-signing secret must be at least 32 characters" in result.stdout + result.stderr
