"""The one client the bot uses to reach the assistant: Rasa's signed channel, and its API to erase a chat.

Each turn is signed with the secret the bot shares with Rasa (repairs_common.turn_signing): Rasa takes no
turn it cannot verify, so only the bot can speak for a resident's conversation. The bot also says whether
the words were typed (Rasa then reads them as words only) or were the payload of a button it offered.

Every call has a timeout. A message is never retried: Rasa may have acted on it (logged a repair)
before the answer was lost, so a retry could do it twice; the resident is told to try again instead.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from repairs_common import turn_signing

from bot.settings import BotSettings

# A turn whose Rasa replica died under it (connection dropped, 502/503 from the balancer, or 401 for the
# balancer's replay of its nonce) is tried once more, signed afresh. If the dead replica had already stored the
# turn, the resident's words count twice in the conversation: a repeated answer, where the alternative is none.
SEND_ATTEMPTS = 2
RETRY_STATUSES = frozenset({401, 502, 503, 504})
RETRY_PAUSE_SECONDS = 0.5
# A 503 says no Rasa ran the turn at all: the balancer had no replica in its rotation (in the drills' 10x burst
# both Rasa servers, busy, missed their health checks), or the signed channel could not check the nonce and
# refused the turn before running it. So it is safe to try again, and a burst is waited out rather than
# shown to the resident as an error: tried again with growing pauses (0.5, 1, 2, 4 s) while the next pause
# still fits in this budget.
UNAVAILABLE_BUDGET_SECONDS = 10.0


class AssistantUnavailable(Exception):
    """Rasa could not be reached, timed out, or answered with an error."""


class NothingSaid(AssistantUnavailable):
    """Rasa ran a typed message and said nothing back: an action failed under the turn (Rasa drops a failed
    action's events and listens again). Unlike the other failures the turn did run, so the resident must not be
    told their message was not sent."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One bot message from Rasa: text and buttons, or an image (URL), or both."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)


def parse_replies(body: object) -> list[Reply]:
    """Rasa's answer (the REST format: a list of {"text", "buttons", "image", "custom"}) as typed replies; anything
    malformed is dropped rather than shown to the resident."""
    replies: list[Reply] = []
    for item in body if isinstance(body, list) else []:
        if not isinstance(item, dict):
            continue
        buttons = tuple(
            Button(title=str(b.get("title") or b.get("payload")), payload=str(b.get("payload")))
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("payload")
        )
        image = item.get("image") if isinstance(item.get("image"), str) else None
        custom = item["custom"] if isinstance(item.get("custom"), dict) else {}
        text = str(item.get("text") or "")
        if text or buttons or image or custom:
            replies.append(Reply(text=text, buttons=buttons, image=image, custom=custom))
    return replies


class RasaGateway:
    def __init__(self, base_url: str, *, channel_secret: str, token: str | None = None, timeout: float = 30.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._channel_secret = turn_signing.check_secret(channel_secret)
        self._token = token
        # Connecting should be quick; an answer may wait on actions and the repairs service.
        self._http = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3.0),
                                                 limits=httpx.Limits(max_connections=100))

    @classmethod
    def from_settings(cls, settings: BotSettings) -> RasaGateway:
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        return cls(settings.rasa_url, channel_secret=settings.rasa_channel_secret.get_secret_value(), token=token,
                   timeout=settings.rasa_timeout_seconds)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, sender: str, text: str, metadata: dict[str, Any], *, typed: bool) -> list[Reply]:
        """Pass one resident message to the assistant; its replies in order. `typed`: the resident typed
        `text` (it may not choose an intent); False for the payload of a button or command the bot offered."""
        started = time.monotonic()
        pause = RETRY_PAUSE_SECONDS
        attempt = 0
        while True:
            attempt += 1
            # Signed afresh for each attempt: a Rasa replica that dies mid-turn leaves its nonce used, so the
            # load balancer's own retry of the same request is refused by the next replica as a replay (401).
            body, headers = turn_signing.signed_request(self._channel_secret, sender, text, metadata, typed=typed)
            try:
                response = await self._http.post(f"{self.base_url}{turn_signing.WEBHOOK_PATH}", content=body,
                                                 headers=headers)
            except httpx.TimeoutException as exc:
                # Never again after a timeout: the turn may still be running, and would run twice.
                raise AssistantUnavailable(type(exc).__name__) from None
            except httpx.HTTPError as exc:
                if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise AssistantUnavailable(type(exc).__name__) from None
            if response.status_code == 503 and time.monotonic() - started + pause <= UNAVAILABLE_BUDGET_SECONDS:
                await asyncio.sleep(pause)
                pause *= 2
                continue
            if response.status_code in RETRY_STATUSES - {503} and attempt < SEND_ATTEMPTS:
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                continue
            break
        if response.status_code != 200:
            raise AssistantUnavailable(f"status {response.status_code}")
        try:
            replies = parse_replies(response.json())
        except ValueError:
            raise AssistantUnavailable("not JSON") from None
        # Our Rasa's channel answers a silent turn with its own apology; this covers any that reaches us empty.
        if typed and not replies:
            raise NothingSaid("no answer")
        return replies

    async def erase(self, sender: str) -> None:
        """Replace the conversation with an empty one, then check it is gone. Rasa's in-memory tracker store
        is erased by this; SQL tracker stores only ever append, so there it is refused as not erased rather
        than reported done."""
        if not self._token:
            raise AssistantUnavailable("no Rasa API token")
        # Rasa takes the id as it is in the path ("telegram:123"); an escaped colon would name another conversation.
        url = f"{self.base_url}/conversations/{quote(sender, safe=':')}/tracker"
        try:
            replaced = await self._http.put(f"{url}/events", params={"token": self._token}, json=[])
            if replaced.status_code != 200:
                raise AssistantUnavailable(f"status {replaced.status_code}")
            left = await self._http.get(url, params={"token": self._token, "include_events": "ALL"})
        except httpx.HTTPError as exc:
            raise AssistantUnavailable(type(exc).__name__) from None
        if left.status_code != 200:
            raise AssistantUnavailable(f"status {left.status_code}")
        events = left.json().get("events") or []
        if any(isinstance(e, dict) and e.get("event") in ("user", "bot") for e in events):
            raise AssistantUnavailable("the tracker store kept the conversation")
