"""Verified residents talking to the whole product through Telegram: the stand-in plays each resident,
the real bot process (`python -m bot`) carries the turn to Rasa and back, and each turn is timed.

A turn is timed from the moment the stand-in holds the resident's update (it is handed to the bot at
once: returned to a waiting getUpdates, or POSTed to the webhook) to the moment the stand-in receives
the last message the bot sends for that turn. The bot sends a turn's replies back to back, so a turn
is over once its chat has been quiet for `quiet` seconds; that wait is not timed, and the resident's
pause before the next message counts from the last reply (it is never shorter than the quiet wait).

The script is bench/conversations.py's, so these figures compare with the assistant benchmark's
signed-channel turns. A button is tapped (a callback query) when the script chooses a tap, as a resident
does: through Telegram a typed "/affirm" is words, never an intent. Nothing here logs message text.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from bench.conversations import _REFERENCE, MAKES_TICKET, SCRIPT, Conversation, LoadResult, Turn, choose, fill
from tests.telegram_standin import SentMessage, TelegramStandIn

_TAPS = {"/affirm"}  # scripted texts that are button taps, by the payload the button carries


def chat_id(conversation: Conversation) -> int:
    return int(conversation.sender.removeprefix("telegram:"))


def _button(tg: TelegramStandIn, chat: int, payload: str) -> tuple[str, int] | None:
    """(title, message id) of the newest button in the chat whose callback data carries `payload`."""
    for message in reversed(tg.sent(chat)):
        for button in message.buttons:
            data = str(button.get("callback_data") or "")
            if data == payload or data.endswith("|" + payload):
                return str(button.get("text")), message.message_id
    return None


class _Player:
    def __init__(self, tg: TelegramStandIn, result: LoadResult, *, think: tuple[float, float], quiet: float,
                 turn_timeout: float) -> None:
        self.tg = tg
        self.result = result
        self.think = think
        self.quiet = quiet
        self.turn_timeout = turn_timeout
        self._lock = threading.Lock()

    def error(self, key: str, sample: tuple[str, str] | None = None) -> None:
        with self._lock:
            self.result.errors[key] += 1
            if sample is not None:
                self.result.samples.setdefault(*sample)

    def turn(self, chat: int, text: str) -> tuple[list[SentMessage], float] | str:
        """Send one message (or tap); the bot's messages for it and the time to the last, or an error."""
        before = len(self.tg.sent(chat))
        if text in _TAPS:
            button = _button(self.tg, chat, text)
            if button is None:
                return "no button to tap"
            title, message_id = button
            started = time.monotonic()
            self.tg.tap(chat, title, message_id=message_id)
        else:
            started = time.monotonic()
            self.tg.user_text(chat, text)
        try:
            messages = self.tg.wait_quiet(chat, after=before, quiet=self.quiet, timeout=self.turn_timeout)
        except TimeoutError:
            return "timeout"
        return messages, (max(m.sent_at for m in messages) - started) * 1000

    def play(self, conversation: Conversation, rng: random.Random) -> None:
        chat = chat_id(conversation)
        answer = ""
        last_reply = time.monotonic()
        for step in SCRIPT:
            if step.when and not any(w in answer.lower() for w in step.when):
                continue
            if step.kind != SCRIPT[0].kind and self.think[1] > 0:
                pause = max(rng.uniform(*self.think), self.quiet)  # the resident reads the answer and types
                time.sleep(max(0.0, pause - (time.monotonic() - last_reply)))
            if "{ref}" in " ".join(step.texts) and conversation.reference is None:
                self.error(f"skipped: {step.kind} (no ticket was made)")
                continue
            label, template = choose(step, rng)
            outcome = self.turn(chat, fill(template, conversation.reference))
            if isinstance(outcome, str):
                self.error(f"{outcome}: {step.kind}")
                continue
            messages, ms = outcome
            last_reply = max(m.sent_at for m in messages)
            answer = " ".join(m.body for m in messages)
            wanted = [e.format(ref=conversation.reference).lower() for e in step.expect]
            ok = any(w in answer.lower() for w in wanted)
            if not ok:
                # The bot's words to a made-up resident, and the scripted phrasing it was answering.
                self.error(f"off script: {step.kind}", (f"{step.kind}: {label}", answer[:300]))
                with self._lock:
                    self.result.off_script_phrasings[f"{step.kind}: {label}"] += 1
            with self._lock:
                self.result.turns.append(Turn(step.kind, ms, ok))
            if step.kind == MAKES_TICKET:
                found = _REFERENCE.search(answer)
                conversation.reference = found.group(0) if found else None


def run_conversations(tg: TelegramStandIn, name: str, conversations: Sequence[Conversation], *, concurrency: int,
                      think: tuple[float, float], seed: int, quiet: float = 1.0,
                      turn_timeout: float = 60.0) -> LoadResult:
    """Play the script in every conversation, `concurrency` chats at a time, each resident pausing a random
    time in `think` (seconds) between messages. One thread per chat: the stand-in's waits block."""
    result = LoadResult(name, concurrency, think, len(conversations), 0.0)
    player = _Player(tg, result, think=think, quiet=quiet, turn_timeout=turn_timeout)
    queue = list(reversed(conversations))
    taking = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        if think[1] > 0:  # residents do not all start typing in the same instant
            time.sleep(rng.uniform(0, think[1]))
        while True:
            with taking:
                if not queue:
                    return
                conversation = queue.pop()
            player.play(conversation, rng)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="resident") as pool:
        for future in [pool.submit(worker, n) for n in range(concurrency)]:
            future.result()
    result.wall_s = time.perf_counter() - started
    return result


def relay_ms(log_file: Path, since: datetime, until: datetime) -> list[float]:
    """The bot's own account of each turn between `since` and `until` (aware datetimes): its "telegram turn
    answered" log line, timed from its handler taking the turn (after the de-duplication call) to the end of
    the turn, which notes the message with the new buttons after the last send. The residents' time adds the
    way in: the webhook POST, the update queue, the chat's turn in line and the de-duplication call."""
    out: list[float] = []
    for line in log_file.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        answered = entry.get("message") == "telegram turn answered" and "ms" in entry
        if answered and since <= datetime.fromisoformat(entry["at"]) <= until:
            out.append(float(entry["ms"]))
    return out
