"""`make chat`: talk to the running demo from a terminal, through Rasa's signed channel.

Bot replies are printed with their buttons numbered; typing a number (or a button's title) sends that
button's payload, as tapping it would. Ctrl-D, Ctrl-C or /quit ends the chat. The quickest way to try the
assistant by hand.

Rasa takes only turns signed with the secret it shares with the bot (repairs_common.turn_signing): the chat
signs each turn as the bot does, with the demo's secret (var/rasa-channel-secret, or RASA_CHANNEL_SECRET).
What you type is sent as typed words, so "/affirm" is read as the word "affirm"; a number sends a button.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from repairs_common import turn_signing

QUIT_WORDS = {"/quit", "/exit"}
# Connecting is local and quick; a turn can run several actions against the repairs service.
TIMEOUT = httpx.Timeout(30.0, connect=3.0)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


class ChatError(Exception):
    """The assistant could not be reached or did not answer; the message says what to do."""


class SignedChannel:
    """One conversation with Rasa's signed channel (`POST /webhooks/signed/webhook`)."""

    def __init__(self, base_url: str, sender: str, http: httpx.Client, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.http = http
        self._secret = secret

    def check(self) -> None:
        """Fail early, and clearly, when nothing is listening (Rasa answers `GET /` without a token)."""
        self._call("GET", "/")

    def send(self, message: str, *, typed: bool = True) -> list[dict[str, Any]]:
        body, headers = turn_signing.signed_request(self._secret, self.sender, message, {"channel": "terminal"},
                                                    typed=typed)
        response = self._call("POST", turn_signing.WEBHOOK_PATH, content=body, headers=headers)
        try:
            replies = response.json()
        except ValueError as exc:
            raise ChatError("The assistant sent back something that is not JSON.") from exc
        if not isinstance(replies, list):
            raise ChatError("The assistant sent back an unexpected answer.")
        return [reply for reply in replies if isinstance(reply, dict)]

    def _call(self, method: str, path: str, content: bytes | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.http.request(method, url, content=content, headers=headers)
        except httpx.ConnectError as exc:
            raise ChatError(f"Cannot reach the assistant at {self.base_url}. Is `make demo` running?") from exc
        except httpx.TimeoutException as exc:
            raise ChatError("The assistant did not answer in time. Try again, or check var/log/rasa.log.") from exc
        except httpx.HTTPError as exc:
            raise ChatError(f"Talking to the assistant failed ({type(exc).__name__}).") from exc
        if response.status_code == 401:
            raise ChatError("The assistant refused the message (401): this chat's secret is not the running "
                            "demo's. Use the demo's var/rasa-channel-secret, or the RASA_CHANNEL_SECRET it was "
                            "started with.")
        if response.status_code >= 400:
            raise ChatError(f"The assistant answered HTTP {response.status_code}. See var/log/rasa.log.")
        return response


def render(replies: list[dict[str, Any]]) -> tuple[list[str], list[Button]]:
    """The lines to print for one turn, and the buttons a number can choose (the last message's wins,
    as in a chat app where only the newest buttons can be tapped)."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        if reply.get("text"):
            first, *rest = str(reply["text"]).splitlines() or [""]
            lines.append(f"bot> {first}")
            lines.extend(f"     {line}" for line in rest)
        if reply.get("image"):
            lines.append(f"bot> [image] {reply['image']}")
        if reply.get("custom") is not None:
            lines.append(f"bot> [custom] {json.dumps(reply['custom'], ensure_ascii=False)}")
        raw = reply.get("buttons") or []
        if raw:
            buttons = [Button(str(b.get("title", "")), str(b.get("payload", ""))) for b in raw if isinstance(b, dict)]
            lines.extend(f"     [{number}] {button.title}" for number, button in enumerate(buttons, start=1))
    if not replies:
        lines.append("bot> (no reply)")
    return lines, buttons


def resolve(typed: str, buttons: list[Button]) -> tuple[str, bool]:
    """What to send for what was typed, and whether it goes as typed words: a button's payload (not typed)
    when it names one, else the text itself (typed)."""
    if typed.isdigit() and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1].payload, False
    for button in buttons:
        if typed.casefold() == button.title.casefold():
            return button.payload, False
    return typed, True


def run(channel: SignedChannel, read: Callable[[str], str], out: TextIO) -> int:
    """The chat loop; returns the process exit code."""
    try:
        channel.check()
    except ChatError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Connected to {channel.base_url} as {channel.sender}. Type a message; /quit, Ctrl-D or Ctrl-C ends.",
          file=out, flush=True)
    buttons: list[Button] = []
    while True:
        try:
            typed = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return 0
        if not typed:
            continue
        if typed.casefold() in QUIT_WORDS:
            return 0
        try:
            message, as_typed = resolve(typed, buttons)
            replies = channel.send(message, typed=as_typed)
        except ChatError as exc:
            print(f"!! {exc}", file=out, flush=True)
            continue  # the resident's last message was not taken: they can send it again
        except KeyboardInterrupt:
            print(file=out)
            return 0
        lines, buttons = render(replies)
        print("\n".join(lines), file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    from repairs.demo.config import DemoSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="Rasa server (default: the demo's, from RASA_HOST and RASA_PORT)")
    parser.add_argument("--sender", help="conversation id, e.g. web:alice to carry on an earlier chat "
                        "(default: a new web chat each time)")
    args = parser.parse_args(argv)
    demo = DemoSettings()
    url = args.url or demo.rasa_url
    secret = demo.channel_secret()
    if secret is None:
        print(f"No secret to sign messages with: start `make demo` first (it makes {demo.channel_secret_file}), "
              "or set RASA_CHANNEL_SECRET to the one Rasa was started with.", file=sys.stderr)
        return 2
    sender = args.sender or f"web:terminal-{secrets.token_hex(4)}"
    read: Callable[[str], str] = input
    if sys.stdin.isatty():
        import readline  # noqa: F401 - line editing and history for input()
    else:
        read = _echoing_reader(sys.stdin, sys.stdout)
    with httpx.Client(timeout=TIMEOUT) as http:
        return run(SignedChannel(url, sender, http, secret), read, sys.stdout)


def _echoing_reader(source: TextIO, out: TextIO) -> Callable[[str], str]:
    """input() for piped stdin: print each line after its prompt, so the transcript reads as a chat."""

    def read(prompt: str) -> str:
        line = source.readline()
        if not line:
            raise EOFError
        print(f"{prompt}{line.rstrip()}", file=out, flush=True)
        return line

    return read


if __name__ == "__main__":
    raise SystemExit(main())
