"""A local stand-in for the Telegram Bot API, so the real python-telegram-bot client runs over real HTTP.

It serves `/bot<token>/<method>` and `/file/bot<token>/<path>` like api.telegram.org, with Telegram's
envelopes (`{"ok": true, "result": ...}`, `{"ok": false, "error_code": ..., "description": ...}`), long
polling with offset confirmation, webhooks with the `X-Telegram-Bot-Api-Secret-Token` header, and an
optional global flood limit (429 with `retry_after`). Tests play the resident through `user_*` and `tap`,
and read what the bot sent with `sent`, `wait_for` and friends. Everything is thread-safe: the server runs
on its own event loop in a thread, tests call in from theirs.

    with TelegramStandIn() as tg:
        app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)...
        tg.user_text(42, "hello")
        tg.wait_for(42, lambda m: "Hello" in (m.text or ""))

Used by the bot's tests and benchmarks; it never touches the internet.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import math
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_TEXT = 4096  # characters after entity parsing, counted in UTF-16 code units as Telegram does
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "sendsticker"})
# Form fields that are plain strings even when they look like JSON numbers (PTB JSON-encodes everything else).
STRING_FIELDS = frozenset({
    "text", "caption", "url", "secret_token", "callback_query_id", "file_id", "action", "parse_mode",
    "ip_address", "photo", "document",
})
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error envelope to answer with."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class SentMessage:
    """Something the bot sent to a chat, as the resident would see it (edits applied)."""

    message_id: int
    chat_id: int
    kind: str  # "text", "photo" or "document"
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo: str | None = None  # a URL or file_id the bot passed, or "upload:<file_id>" for uploaded bytes
    sent_at: float = field(default_factory=time.monotonic)
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def button_titles(self) -> list[str]:
        return [str(b.get("text")) for b in self.buttons]

    @property
    def body(self) -> str:
        return self.text or self.caption or ""

    def as_telegram(self, chat: dict[str, Any], bot_user: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": self.message_id, "date": int(time.time()), "chat": chat,
                                   "from": bot_user}
        if self.kind == "text":
            message["text"] = self.text
        elif self.kind == "photo":
            message["photo"] = [{"file_id": f"sent-{self.message_id}", "file_unique_id": f"su{self.message_id}",
                                 "width": 640, "height": 480}]
        else:
            message["document"] = {"file_id": f"sent-{self.message_id}", "file_unique_id": f"sd{self.message_id}"}
        if self.caption is not None:
            message["caption"] = self.caption
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass
class _File:
    data: bytes
    path: str
    size: int  # what Telegram reports; may be larger than data to test size checks cheaply


@dataclass
class _Fault:
    code: int
    description: str
    retry_after: int | None
    times: int


class TelegramStandIn:
    """One bot's view of the Bot API on 127.0.0.1. Use as a context manager, or call start()/stop()."""

    def __init__(self, token: str = "123456789:TEST-standin-token_abcdefghijklmno", *, port: int = 0,
                 flood_limit: int | None = None, strict_chats: bool = True,
                 first_update_id: int | None = None) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.flood_limit = flood_limit  # messages per second across all chats (Telegram: about 30)
        self.strict_chats = strict_chats  # "chat not found" for chats that never wrote to the bot
        self._port = port
        self._cond = threading.Condition()
        # Random by default, as Telegram's are to a client: two stand-ins never reuse each other's update ids
        # against the same de-duplication store.
        self._next_update_id = first_update_id or random.randint(10**6, 10**9)
        self._next_message_id = 1
        self._next_file = 1
        self._pending: list[dict[str, Any]] = []  # updates not yet confirmed (polling) or delivered (webhook)
        self._updates: dict[int, dict[str, Any]] = {}  # every update ever made, for duplicate()
        self._chats: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._sent: dict[int, list[SentMessage]] = {}
        self._actions: dict[int, list[str]] = {}
        self._callbacks: dict[str, dict[str, Any]] = {}  # callback_query_id -> {"answered": bool, "text": ...}
        self._files: dict[str, _File] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._flood_window: deque[float] = deque()
        self._commands: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40  # posts in flight at once (setWebhook's max_connections; Telegram: 40)
        self.webhook_attempts: list[tuple[int, int]] = []  # (update_id, HTTP status or 0 for no answer)
        self.calls: Counter[str] = Counter()
        self.throttled = 0  # 429s answered by the flood limit
        self.sent_total = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signal: asyncio.Future[None] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # --- life cycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """python-telegram-bot's `base_url` form (the token is appended)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def start(self) -> TelegramStandIn:
        app = Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
        ], lifespan=self._lifespan)
        if not self._port:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self._port = int(s.getsockname()[1])
        config = uvicorn.Config(app, host="127.0.0.1", port=self._port, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=2, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="telegram-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("Telegram stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> TelegramStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._signal = self._loop.create_future()
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        try:
            yield
        finally:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task

    def _notify(self) -> None:
        """Wake long polls and the webhook sender (callable from any thread)."""
        with self._cond:
            self._cond.notify_all()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._signal is not None and not self._signal.done():
            self._signal.set_result(None)
        if self._loop is not None:
            self._signal = self._loop.create_future()

    async def _changed(self, timeout: float) -> None:
        assert self._signal is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._signal), timeout)

    # --- the resident's side (for tests) ------------------------------------------------------------
    def open_chat(self, chat_id: int, *, first_name: str = "Resident", chat_type: str = "private") -> None:
        """A chat that has started the bot, so the bot may write to it."""
        with self._cond:
            self._chats.setdefault(chat_id, self._chat_dict(chat_id, first_name, chat_type))

    def block(self, chat_id: int) -> None:
        """The resident blocks the bot: sends to the chat get 403."""
        with self._cond:
            self._blocked.add(chat_id)

    def _chat_dict(self, chat_id: int, first_name: str, chat_type: str) -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": first_name}
        return {"id": chat_id, "type": chat_type, "title": "Residents group"}

    def _user(self, user_id: int, first_name: str = "Resident") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}

    def _message(self, chat_id: int, from_id: int | None, chat_type: str, **content: Any) -> int:
        with self._cond:
            chat = self._chats.setdefault(chat_id, self._chat_dict(chat_id, "Resident", chat_type))
            message_id = self._next_message_id
            self._next_message_id += 1
            message = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                       "from": self._user(from_id if from_id is not None else chat_id), **content}
            return self._push({"message": message})

    def _push(self, payload: dict[str, Any]) -> int:
        with self._cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            update = {"update_id": update_id, **payload}
            self._updates[update_id] = update
            self._pending.append(update)
        self._notify()
        return update_id

    def user_text(self, chat_id: int, text: str, *, from_id: int | None = None, chat_type: str = "private") -> int:
        """The resident types `text`; a leading /command gets a bot_command entity, as Telegram adds."""
        content: dict[str, Any] = {"text": text}
        match = _COMMAND.match(text)
        if match:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]
        return self._message(chat_id, from_id, chat_type, **content)

    def add_file(self, data: bytes, *, suffix: str = "jpg", reported_size: int | None = None) -> str:
        """A file on Telegram's servers; returns its file_id."""
        with self._cond:
            n = self._next_file
            self._next_file += 1
        file_id = f"file-{n}-{'x' * 20}"
        with self._cond:
            self._files[file_id] = _File(data, f"files/file_{n}.{suffix}", reported_size or len(data))
        return file_id

    def user_photo(self, chat_id: int, data: bytes, *, caption: str | None = None, width: int = 640,
                   height: int = 480, reported_size: int | None = None) -> int:
        """A photo (Telegram sends a thumbnail and the full size; both are the same bytes here)."""
        size = reported_size or len(data)
        thumb = self.add_file(data)
        full = self.add_file(data, reported_size=reported_size)
        sizes = [
            {"file_id": thumb, "file_unique_id": f"u{thumb}", "width": max(1, width // 8),
             "height": max(1, height // 8), "file_size": len(data)},
            {"file_id": full, "file_unique_id": f"u{full}", "width": width, "height": height, "file_size": size},
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._message(chat_id, None, "private", **content)

    def user_document(self, chat_id: int, data: bytes, *, file_name: str, mime_type: str,
                      reported_size: int | None = None) -> int:
        file_id = self.add_file(data, suffix=file_name.rsplit(".", 1)[-1], reported_size=reported_size)
        return self._message(chat_id, None, "private", document={
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name, "mime_type": mime_type,
            "file_size": reported_size or len(data)})

    def user_sticker(self, chat_id: int) -> int:
        return self._message(chat_id, None, "private", sticker={
            "file_id": "sticker-1", "file_unique_id": "usticker1", "type": "regular", "width": 512, "height": 512,
            "is_animated": False, "is_video": False, "emoji": "👍"})

    def user_voice(self, chat_id: int, seconds: int = 3) -> int:
        return self._message(chat_id, None, "private", voice={
            "file_id": "voice-1", "file_unique_id": "uvoice1", "duration": seconds, "mime_type": "audio/ogg",
            "file_size": 4000 * seconds})

    def user_video(self, chat_id: int) -> int:
        return self._message(chat_id, None, "private", video={
            "file_id": "video-1", "file_unique_id": "uvideo1", "width": 640, "height": 360, "duration": 5})

    def user_location(self, chat_id: int, latitude: float, longitude: float) -> int:
        return self._message(chat_id, None, "private", location={"latitude": latitude, "longitude": longitude})

    def user_contact(self, chat_id: int, phone_number: str, *, user_id: int | None = None) -> int:
        """A shared contact; `user_id` is the chat's own user unless given (someone else's card)."""
        return self._message(chat_id, None, "private", contact={
            "phone_number": phone_number, "first_name": "Resident", "user_id": user_id or chat_id})

    def tap(self, chat_id: int, title: str, *, message_id: int | None = None, data: str | None = None,
            from_id: int | None = None) -> int:
        """The resident taps the inline button `title` on the latest bot message that has it (or on
        `message_id`). `data` forges the callback data, as a modified client could. In a group, `from_id`
        says which member tapped (by default the chat id, as in a private chat)."""
        with self._cond:
            candidates = [m for m in self._sent.get(chat_id, [])
                          if (message_id is None or m.message_id == message_id) and title in m.button_titles]
            if not candidates:
                raise AssertionError(f"no button {title!r} in chat {chat_id}: "
                                     f"{[m.button_titles for m in self._sent.get(chat_id, [])]}")
            message = candidates[-1]
            button = next(b for b in message.buttons if b.get("text") == title)
            query_id = f"cq{len(self._callbacks) + 1}{int(time.monotonic() * 1000)}"
            self._callbacks[query_id] = {"answered": False, "text": None, "chat_id": chat_id}
            chat = self._chats[chat_id]
            payload = {"callback_query": {
                "id": query_id, "from": self._user(from_id if from_id is not None else chat_id),
                "chat_instance": f"ci{chat_id}",
                "message": message.as_telegram(chat, self._bot_user()),
                "data": data if data is not None else button.get("callback_data")}}
        return self._push(payload)

    def duplicate(self, update_id: int) -> None:
        """Telegram sends an update again (a webhook retry, or a restart before the offset was confirmed)."""
        with self._cond:
            # Telegram hands updates out in update_id order, whatever order they were queued in.
            bisect.insort(self._pending, self._updates[update_id], key=lambda u: u["update_id"])
        self._notify()

    def fail_next(self, method: str, code: int, description: str, *, retry_after: int | None = None,
                  times: int = 1) -> None:
        """The next `times` calls to `method` fail with this error."""
        with self._cond:
            self._faults.setdefault(method.lower(), []).append(_Fault(code, description, retry_after, times))

    # --- what the bot did (for tests) ----------------------------------------------------------------
    def sent(self, chat_id: int) -> list[SentMessage]:
        with self._cond:
            return list(self._sent.get(chat_id, []))

    def texts(self, chat_id: int) -> list[str]:
        return [m.body for m in self.sent(chat_id)]

    def chat_actions(self, chat_id: int) -> list[str]:
        with self._cond:
            return list(self._actions.get(chat_id, []))

    def callback_answers(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return {k: dict(v) for k, v in self._callbacks.items()}

    def pending_updates(self) -> int:
        with self._cond:
            return len(self._pending)

    def commands(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._commands)

    def wait_for(self, chat_id: int, predicate: Callable[[SentMessage], bool], *, timeout: float = 30,
                 after: int = 0) -> SentMessage:
        """The first message to `chat_id` (from index `after`) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._sent.get(chat_id, [])[after:]:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [m.body[:80] for m in self._sent.get(chat_id, [])[after:]]
                    raise TimeoutError(f"chat {chat_id}: nothing matched in {timeout}s; sent {seen}")
                self._cond.wait(remaining)

    def wait_for_text(self, chat_id: int, fragment: str, *, timeout: float = 30, after: int = 0) -> SentMessage:
        return self.wait_for(chat_id, lambda m: fragment.lower() in m.body.lower(), timeout=timeout, after=after)

    def wait_quiet(self, chat_id: int, *, after: int = 0, quiet: float = 1.5, timeout: float = 60) -> list[SentMessage]:
        """The messages sent to the chat from index `after` once at least one has come and the chat has then
        been quiet for `quiet` seconds (the bot finished its turn)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                messages = self._sent.get(chat_id, [])[after:]
                last = max((m.sent_at for m in messages), default=0.0)
                now = time.monotonic()
                if messages and now - last >= quiet:
                    return list(messages)
                if now > deadline:
                    raise TimeoutError(f"chat {chat_id} got nothing new, or did not go quiet, in {timeout}s")
                self._cond.wait(quiet if not messages else max(0.05, quiet - (now - last)))

    # --- the Bot API ----------------------------------------------------------------------------------
    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Repairs Assistant",
                "username": "repairs_standin_bot", "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse(ApiError(401, "Unauthorized").envelope(), status_code=401)
        method = request.path_params["method"].lower()
        self.calls[method] += 1
        try:
            params = await _read_params(request)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            self._check_faults(method)
            if method in SEND_METHODS:
                self._check_flood()
            result = await handler(params) if asyncio.iscoroutinefunction(handler) else handler(params)
        except ApiError as exc:
            return JSONResponse(exc.envelope(), status_code=exc.code)
        return JSONResponse({"ok": True, "result": result})

    def _check_faults(self, method: str) -> None:
        with self._cond:
            faults = self._faults.get(method)
            if not faults:
                return
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
        raise ApiError(fault.code, fault.description, fault.retry_after)

    def _check_flood(self) -> None:
        if self.flood_limit is None:
            return
        now = time.monotonic()
        with self._cond:
            window = self._flood_window
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.flood_limit:
                self.throttled += 1
                wait = max(1, math.ceil(1.0 - (now - window[0])))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            window.append(now)

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(params["chat_id"])
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        with self._cond:
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            chat = self._chats.get(chat_id)
            if chat is None:
                if self.strict_chats:
                    raise ApiError(400, "Bad Request: chat not found")
                chat = self._chats.setdefault(chat_id, self._chat_dict(chat_id, "Resident", "private"))
            return chat

    def _record(self, chat: dict[str, Any], message: SentMessage) -> dict[str, Any]:
        with self._cond:
            self._sent.setdefault(chat["id"], []).append(message)
            self.sent_total += 1
            self._cond.notify_all()
        return message.as_telegram(chat, self._bot_user())

    def _new_message_id(self) -> int:
        with self._cond:
            message_id = self._next_message_id
            self._next_message_id += 1
            return message_id

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if offset:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
                ready = self._pending[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or (self._server is not None and self._server.should_exit):
                return ready
            await self._changed(remaining)

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        with self._cond:
            if params.get("drop_pending_updates"):
                self._pending.clear()
            self.webhook_url = url or None
            self.webhook_secret = str(secret) if secret is not None else None
            self.webhook_max_connections = int(params.get("max_connections") or 40)
        self._notify()
        return True

    def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            if params.get("drop_pending_updates"):
                self._pending.clear()
            self.webhook_url = None
            self.webhook_secret = None
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            return {"url": self.webhook_url or "", "has_custom_certificate": False,
                    "pending_update_count": len(self._pending)}

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: commands must be an array")
        with self._cond:
            self._commands = commands
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands()

    def _checked_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                if not str(button.get("text") or ""):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._checked_markup(params)
        return self._record(chat, SentMessage(self._new_message_id(), chat["id"], "text", text=text,
                                              reply_markup=markup))

    def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        photo = params.get("photo")
        if isinstance(photo, bytes):
            reference = f"upload:{self.add_file(photo)}"
        elif isinstance(photo, str) and photo:
            reference = photo
        else:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption")
        if caption is not None and utf16_len(str(caption)) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        markup = self._checked_markup(params)
        return self._record(chat, SentMessage(self._new_message_id(), chat["id"], "photo", photo=reference,
                                              caption=None if caption is None else str(caption),
                                              reply_markup=markup))

    def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        with self._cond:
            self._actions.setdefault(chat["id"], []).append(str(params.get("action")))
            self._cond.notify_all()
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            query = self._callbacks.get(query_id)
            if query is None or query["answered"]:
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID "
                                    "is invalid")
            query.update(answered=True, text=params.get("text"))
            self._cond.notify_all()
        return True

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        markup = self._checked_markup(params)
        with self._cond:
            message = next((m for m in self._sent.get(chat["id"], []) if m.message_id == message_id), None)
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if (message.reply_markup or None) == (markup or None):
                raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                    "reply markup are exactly the same as a current content and reply markup of "
                                    "the message")
            message.reply_markup = markup
            message.edits += 1
            self._cond.notify_all()
            return message.as_telegram(chat, self._bot_user())

    def _api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        with self._cond:
            found = self._files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if found.size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": found.size,
                "file_path": found.path}

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        self.calls["download"] += 1
        path = request.path_params["path"]
        with self._cond:
            found = next((f for f in self._files.values() if f.path == path), None)
        if found is None:
            return JSONResponse(ApiError(404, "Not Found").envelope(), status_code=404)
        return Response(found.data, media_type="application/octet-stream")

    # --- webhook delivery ------------------------------------------------------------------------------
    async def _deliver_webhooks(self) -> None:
        """Post pending updates to the webhook as Telegram does: several at once (up to the webhook's
        max_connections), but one chat's one at a time and in order; a failed post is retried. The bot may
        hold a post until the update has run, so one slow chat never holds up the others."""
        in_flight: dict[int, Any] = {}  # update id -> its chat's key
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=2.0)) as client:

            async def post(update: dict[str, Any], url: str, secret: str | None) -> None:
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    response = await client.post(url, json=update, headers=headers)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                with self._cond:
                    self.webhook_attempts.append((update["update_id"], status))
                    if 200 <= status < 300:
                        self._pending = [u for u in self._pending if u is not update]
                    self._cond.notify_all()
                if not 200 <= status < 300:
                    await asyncio.sleep(0.5)
                in_flight.pop(update["update_id"], None)
                self._wake()

            tasks: set[asyncio.Task[None]] = set()
            while True:
                with self._cond:
                    url, secret = self.webhook_url, self.webhook_secret
                    ready: list[dict[str, Any]] = []
                    if url:
                        busy = set(in_flight.values())
                        for update in self._pending:
                            key = _update_chat(update)
                            if key in busy:
                                continue  # an earlier update of this chat is still being posted
                            busy.add(key)
                            if len(in_flight) + len(ready) < self.webhook_max_connections:
                                ready.append(update)
                for update in ready:
                    in_flight[update["update_id"]] = _update_chat(update)
                    task = asyncio.create_task(post(update, url or "", secret))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await self._changed(5.0)


def _update_chat(update: dict[str, Any]) -> Any:
    """The chat an update belongs to, for keeping a chat's updates in order (the update's own id if none)."""
    for kind in ("message", "edited_message", "callback_query"):
        part = update.get(kind)
        if isinstance(part, dict):
            chat = (part.get("message") or {}).get("chat") if kind == "callback_query" else part.get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
            if isinstance(part.get("from"), dict):
                return part["from"].get("id")
    return ("update", update.get("update_id"))


async def _read_params(request: Request) -> dict[str, Any]:
    """Bot API parameters from a query string, a JSON body, a form, or multipart with files."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if "application/json" in content_type:
        body = await request.body()
        if body:
            try:
                loaded = json.loads(body)
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            if isinstance(loaded, dict):
                params.update(loaded)
        return params
    if "form" in content_type:
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                params[key] = await value.read()
            else:
                params[key] = value
    attached = {k: v for k, v in params.items() if isinstance(v, bytes)}
    for key, value in list(params.items()):
        if isinstance(value, str):
            params[key] = _decode_field(key, value, attached)
    return params


def _decode_field(key: str, value: str, attached: dict[str, bytes]) -> Any:
    """PTB JSON-encodes non-string values in forms; `attach://name` points at an uploaded part."""
    if value.startswith("attach://"):
        return attached.get(value.removeprefix("attach://"), value)
    if key in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@contextlib.contextmanager
def running_standin(**kwargs: Any) -> Iterator[TelegramStandIn]:
    with TelegramStandIn(**kwargs) as standin:
        yield standin
