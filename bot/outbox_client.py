"""The delivery worker's client for the repairs service's outbox: claim, sent, failed.

Every call has a timeout and carries the service token. Network errors and 5xx answers raise
`OutboxUnavailable` (the worker waits and tries again); other refusals raise `OutboxRefused`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.rasa_gateway import Button


class OutboxUnavailable(Exception):
    """The repairs service could not be reached or answered with a server error."""


class OutboxRefused(Exception):
    """The repairs service refused the call (a 4xx other than 404 where 404 means something)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class OutboxItem:
    """One leased message: what to send, where, and which attempt this is."""

    id: int
    delivery_key: str
    kind: str
    text: str
    channel: str
    external_id: str
    attempts: int
    buttons: tuple[Button, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> OutboxItem:
        return cls(
            id=int(item["id"]),
            delivery_key=str(item["delivery_key"]),
            kind=str(item["kind"]),
            text=str(item.get("text") or ""),
            channel=str(item["channel"]),
            external_id=str(item["external_id"]),
            attempts=int(item.get("attempts") or 0),
            buttons=tuple(Button(title=str(b["title"]), payload=str(b["payload"])) for b in item.get("buttons") or []),
            data=dict(item.get("data") or {}),
        )


class OutboxClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._http = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3.0))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, json: Any = None) -> httpx.Response:
        try:
            response = await self._http.post(self.base_url + path, headers=self._headers, json=json)
        except httpx.HTTPError as exc:
            raise OutboxUnavailable(type(exc).__name__) from None
        if response.status_code >= 500:
            raise OutboxUnavailable(f"status {response.status_code}")
        return response

    @staticmethod
    def _refused(response: httpx.Response) -> OutboxRefused:
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        return OutboxRefused(response.status_code, str(code or "error"))

    async def claim(self, channels: Sequence[str], *, limit: int, lease_seconds: int) -> list[OutboxItem]:
        response = await self._post(
            "/api/v1/outbox/claim", {"channels": list(channels), "limit": limit, "lease_seconds": lease_seconds}
        )
        if response.status_code != 200:
            raise self._refused(response)
        return [OutboxItem.from_json(item) for item in response.json().get("items", [])]

    async def sent(self, note_id: int, *, message_id: str | None = None) -> None:
        """Idempotent. A 404 means the row is gone (the resident's records were erased): nothing to record.
        `message_id`: the channel's id of what was sent, kept by the service for a message it may edit."""
        response = await self._post(f"/api/v1/outbox/{note_id}/sent",
                                    {"message_id": message_id} if message_id else None)
        if response.status_code not in (204, 404):
            raise self._refused(response)

    async def failed(self, note_id: int, *, error: str, retryable: bool, attempt: int | None) -> None:
        body: dict[str, Any] = {"error": error, "retryable": retryable}
        if attempt is not None:
            body["attempt"] = attempt
        response = await self._post(f"/api/v1/outbox/{note_id}/failed", body)
        if response.status_code not in (204, 404):
            raise self._refused(response)
