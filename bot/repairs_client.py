"""The bot's client for the repairs service: update de-duplication, a chat's shared edge state, a resident's
repairs, photos, unlinking.

All calls carry the service token and have timeouts. The resident is named by the chat identity
(`X-Resident-Channel: telegram:<chat id>`); the service decides what that chat may see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

RETRY_STATUSES = frozenset({502, 503, 504})
FIRST_BACKOFF = 0.2  # seconds before the second attempt; doubling after, up to MAX_BACKOFF
MAX_BACKOFF = 2.0
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RepairsUnavailable(Exception):
    """The repairs service could not be reached, or kept failing."""


class _TryAgain(Exception):
    """One attempt failed in a way another may not (a network error, a 502/503/504); says which."""


@dataclass
class RepairsError(Exception):
    """The service answered with a problem document. `request_id` is the service's X-Request-ID: logged with
    the failure (it is in str()), it finds the service's own line about the same request."""

    status: int
    code: str
    detail: str
    request_id: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.code}" + (f" (request id {self.request_id})" if self.request_id else "")


def _request_id(response: httpx.Response) -> str:
    # Only as the service makes them (see repairs/unexpected_errors.py): nothing else reaches a log line.
    given = response.headers.get("X-Request-ID", "")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else ""


@dataclass(frozen=True)
class TicketSummary:
    reference: str
    summary: str
    status_text: str
    reported_at: str


class RepairsClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0, retries: int = 2,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._retries = retries
        self._http = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3.0))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, *, resident: str | None = None, json: Any = None,
                       params: dict[str, Any] | None = None, files: Any = None, retry: bool = False,
                       timeout: float | None = None) -> Any:
        headers = dict(self._headers)
        # The client's timeouts unless the call asks for its own (left out, not None: None means no timeout).
        extra: dict[str, Any] = {} if timeout is None else {"timeout": httpx.Timeout(timeout)}
        if resident:
            headers["X-Resident-Channel"] = resident
        # tenacity, as the actions' client uses it: bounded exponential back-off (asyncio.sleep), and only the
        # failures another attempt may mend are tried again.
        retrying = AsyncRetrying(stop=stop_after_attempt(1 + (self._retries if retry else 0)),
                                 wait=wait_exponential(multiplier=FIRST_BACKOFF, max=MAX_BACKOFF),
                                 retry=retry_if_exception_type(_TryAgain), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._attempt(method, path, headers=headers, json=json, params=params,
                                                   files=files, extra=extra)
        except _TryAgain as last:
            raise RepairsUnavailable(str(last)) from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        raise RepairsError(response.status_code, str(body.get("code") or "error"),
                           str(body.get("detail") or body.get("title") or ""), _request_id(response))

    async def _attempt(self, method: str, path: str, *, headers: dict[str, str], json: Any,
                       params: dict[str, Any] | None, files: Any, extra: dict[str, Any]) -> httpx.Response:
        try:
            response = await self._http.request(method, self.base_url + path, headers=headers, json=json,
                                                params=params, files=files, **extra)
        except httpx.HTTPError as exc:
            raise _TryAgain(type(exc).__name__) from None
        if response.status_code in RETRY_STATUSES:
            request_id = _request_id(response)
            raise _TryAgain(f"status {response.status_code}" + (f" (request id {request_id})" if request_id else ""))
        return response

    async def first_delivery(self, channel: str, update_id: str, *, chat: str | None = None) -> bool:
        """True the first time this update is seen, across restarts and replicas; False for a repeat.
        Safe to retry: the service keeps one row per (channel, update id). With `chat` (a resident's message
        or tap), the first time also counts the chat's conversation if it begins one, for the reports."""
        payload = {"channel": channel, "update_id": update_id} | ({} if chat is None else {"chat": chat})
        body = await self._request("POST", "/api/v1/channel-updates", json=payload, retry=True)
        return bool(body and body.get("first"))

    async def conversation_turn(self, channel: str, chat: str, *, timeout: float = 2.0) -> None:
        """A resident's message on an edge that claims no updates (web chat): the service counts a
        conversation when this begins one. Not retried, and with a short timeout: it is only a count, and it
        sits in front of the resident's answer."""
        await self._request("POST", "/api/v1/assistant/conversations", timeout=timeout,
                            json={"channel": channel, "chat": chat})

    async def is_verified(self, resident: str) -> bool:
        try:
            await self._request("GET", "/api/v1/residents/me", resident=resident, retry=True)
        except RepairsError as exc:
            if exc.status in (400, 403):
                return False
            raise
        return True

    async def open_tickets(self, resident: str, limit: int = 10) -> list[TicketSummary]:
        """The resident's own open repairs, newest first (not other households' they are linked to: a photo
        or a choice of repair is only ever about their own)."""
        page = await self._request("GET", "/api/v1/tickets", resident=resident, retry=True,
                                   params={"status": "open", "limit": limit, "include_linked": "false"})
        return [TicketSummary(reference=str(t["reference"]), summary=str(t.get("summary") or ""),
                              status_text=str(t.get("status_text") or ""), reported_at=str(t.get("reported_at")))
                for t in (page or {}).get("items", [])]

    async def add_photo(self, resident: str, reference: str, data: bytes, *, filename: str,
                        content_type: str) -> dict[str, Any]:
        """Attach a photo to one of the resident's repairs; the service checks it and strips its metadata."""
        result = await self._request("POST", f"/api/v1/tickets/{quote(reference, safe='')}/photos",
                                     resident=resident, files={"file": (filename, data, content_type)})
        return dict(result or {})

    async def add_information(self, resident: str, reference: str, text: str) -> None:
        """Add the resident's words to one of their repairs (a photo's caption, for instance)."""
        await self._request("POST", f"/api/v1/tickets/{quote(reference, safe='')}/information",
                            resident=resident, json={"text": text[:4000]})

    async def unlink(self, resident: str) -> None:
        """Forget this chat: the service drops the link between it and the resident (idempotent)."""
        await self._request("DELETE", "/api/v1/residents/me/identity", resident=resident, retry=True)

    async def alert_action(self, alert_id: int, action: str, *, telegram_user_id: int, chat_id: int) -> dict[str, Any]:
        """A tap on an emergency alert's button in the officers' group: the service decides whether the
        tapper is an officer and what happened. Safe to retry: a repeat answers "already"."""
        body = await self._request("POST", f"/api/v1/alerts/{alert_id}/telegram-actions", retry=True,
                                   json={"action": action, "telegram_user_id": telegram_user_id,
                                         "chat_id": chat_id})
        return dict(body or {})

    async def officer_link(self, code: str, *, telegram_user_id: int) -> dict[str, Any]:
        """An officer sent a link code from their Telegram account: the service uses it up and links that
        account to the officer it was made for. Not retried: a repeat of a call that did use the code would
        be told the code is used."""
        body = await self._request("POST", "/api/v1/telegram/officer-links",
                                   json={"code": code, "telegram_user_id": telegram_user_id})
        return dict(body or {})

    # A chat's edge state (see bot/chat_state.py), under /api/v1/channel-state/{channel}/{chat}/{name}.

    @staticmethod
    def _state_path(channel: str, chat: str, name: str | None = None) -> str:
        path = f"/api/v1/channel-state/{quote(channel, safe='')}/{quote(chat, safe='')}"
        return path if name is None else f"{path}/{quote(name, safe=':')}"

    async def state_put(self, channel: str, chat: str, name: str, value: Any, *, ttl_seconds: int,
                        only_if_absent: bool = False) -> bool:
        """Keep `value`; with `only_if_absent`, False when a live value is already there. Only a plain
        replace is retried: a retried first-writer-wins call could be told it lost to itself."""
        try:
            await self._request("PUT", self._state_path(channel, chat, name), retry=not only_if_absent,
                                json={"value": value, "ttl_seconds": ttl_seconds, "only_if_absent": only_if_absent})
        except RepairsError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def state_get(self, channel: str, chat: str, name: str) -> Any:
        """The live value, or None."""
        return await self._state_read("GET", channel, chat, name)

    async def state_take(self, channel: str, chat: str, name: str) -> Any:
        """Remove the live value and return it, or None when there was none."""
        return await self._state_read("DELETE", channel, chat, name)

    async def _state_read(self, method: str, channel: str, chat: str, name: str) -> Any:
        try:
            body = await self._request(method, self._state_path(channel, chat, name), retry=method == "GET")
        except RepairsError as exc:
            if exc.status == 404:
                return None
            raise
        return (body or {}).get("value")
