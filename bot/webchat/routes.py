"""The web chat's page and its small JSON API, mounted on the bot's HTTP server (bot/web.py).

- `GET /`: the page. It sets the session cookie (a random id, signed; HttpOnly, SameSite=Lax, Secure
  over https) and carries the CSRF token for the POSTs.
- `POST /webchat/api/message`: typed words (never read as an intent) or a button the assistant offered
  in this session (its payload signed); the assistant's replies come back. Each turn also tells the repairs
  service, which counts the conversation a turn begins (for the officers' reports; never in the turn's way).
- `POST /webchat/api/photo`: the image as the request body; checked here (type, size), then attached to
  the resident's current repair through the repairs service, or the resident is asked which one.
- `POST /webchat/api/updates` and `/updates/ack`: proactive updates, pulled. A page that is open asks
  every few seconds, and a page being opened asks at once; the updates are leased from the repairs
  service's outbox for this resident only, and marked sent once the page says it has shown them.
- `POST /webchat/api/forget`: unlink this browser from the tenancy and erase the conversation.

Every POST must carry the CSRF token and, when the browser says where it came from (Origin,
Sec-Fetch-Site), come from this site. Lax rather than Strict: a resident following a link to the chat
from an email or text must arrive with their session, not be given a new one. Then it is held to its
session's rate limit for its kind, and messages and photos to their client address's too
(bot/webchat/throttling.py): over it, 429 with a Retry-After and words saying how long to wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from repairs_common.channels import channel_identity
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.photo_intake import Found, photo_target
from bot.rasa_gateway import AssistantUnavailable, Button, NothingSaid, RasaGateway, Reply
from bot.repairs_client import RepairsClient, RepairsError, RepairsUnavailable
from bot.settings import BotSettings
from bot.telegram.inbound import as_plain_text
from bot.webchat import texts, uploads
from bot.webchat.settings import MEGABYTE, WebChatSettings
from bot.webchat.signing import Signer, new_session_id
from bot.webchat.throttling import Kind, WebChatLimits

log = logging.getLogger(__name__)

CHANNEL = "web"  # the channel name actions/identity.py and the repairs service know web chats by
HERE = Path(__file__).parent
COOKIE = "repairs_chat"
# Over https the cookie takes the __Host- prefix: the browser then insists on Secure, Path=/ and no
# Domain, so no other site under the same domain can set or shadow it.
SECURE_COOKIE = "__Host-repairs_chat"
CSRF_HEADER = "x-csrf-token"
MAX_JSON_BYTES = 16 * 1024
MAX_PAYLOAD_CHARS = 1000
CONVERSATION_COUNT_TIMEOUT = 2.0  # seconds counting a conversation may take, alongside the turn
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Endpoint = Callable[[Request], Awaitable[Response]]


def sender_for(session_id: str) -> str:
    """The identity the assistant and the repairs service know this browser by (see actions/identity.py)."""
    return channel_identity(CHANNEL, session_id)


class WebChatRepairs(RepairsClient):
    """The repairs client with the two outbox calls web chat needs to pull a resident's updates."""

    async def claim_chat(self, session_id: str, *, limit: int, lease_seconds: int) -> list[dict[str, Any]]:
        body = await self._request("POST", "/api/v1/outbox/claim", json={
            "channels": [CHANNEL], "external_id": session_id, "limit": limit, "lease_seconds": lease_seconds})
        return [item for item in (body or {}).get("items", []) if isinstance(item, dict)]

    async def mark_sent(self, note_id: int) -> None:
        try:
            await self._request("POST", f"/api/v1/outbox/{note_id}/sent", retry=True)
        except RepairsError as exc:
            if exc.status != 404:  # 404: the row is gone (the resident's records were erased)
                raise


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=SECURITY_HEADERS)


SLOW_DOWN_TEXTS = {Kind.MESSAGE: texts.SLOW_DOWN_MESSAGES, Kind.PHOTO: texts.SLOW_DOWN_PHOTOS,
                   Kind.UPDATES: texts.SLOW_DOWN}


def _slow_down(kind: Kind, retry_after: str) -> JSONResponse:
    message = SLOW_DOWN_TEXTS[kind].format(wait=texts.wait_words(int(retry_after)))
    return JSONResponse({"error": "rate_limited", "message": message, "retry_after": int(retry_after)},
                        status_code=429, headers={**SECURITY_HEADERS, "Retry-After": retry_after})


def page_template() -> Template:
    """The page, rendered by Jinja2 as the workspace's pages are: every value autoescaped, and a name the page
    uses but the code does not give is an error at the first render, not a literal "{{name}}" in the page."""
    environment = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]),
                              undefined=StrictUndefined, auto_reload=False)
    return environment.get_template("page.html")


def _answer(messages: list[dict[str, Any]], **extra: Any) -> JSONResponse:
    return JSONResponse({"messages": messages, **extra}, headers=SECURITY_HEADERS)


class WebChat:
    def __init__(self, settings: BotSettings, web: WebChatSettings, signer: Signer, rasa: RasaGateway,
                 repairs: WebChatRepairs, limits: WebChatLimits, page: Template) -> None:
        self.settings = settings
        self.web = web
        self.signer = signer
        self.rasa = rasa
        self.repairs = repairs
        self.limits = limits
        self._page = page

    @classmethod
    def from_settings(cls, settings: BotSettings, web: WebChatSettings | None = None) -> WebChat:
        web = web or WebChatSettings()
        # Switched off, it serves nothing, so it needs no secret (and makes no file for one).
        secret = web.signing_secret() if web.enabled else new_session_id()
        signer = Signer(secret)
        return cls(
            settings, web, signer,
            RasaGateway.from_settings(settings),
            WebChatRepairs(settings.repairs_url, settings.repairs_token(), timeout=settings.repairs_timeout_seconds),
            WebChatLimits.from_settings(web, signer),
            page_template(),
        )

    async def aclose(self) -> None:
        await self.rasa.aclose()
        await self.repairs.aclose()
        await self.limits.aclose()

    def routes(self) -> list[BaseRoute]:
        if not self.web.enabled:
            return []
        return [
            Route("/", self.page, methods=["GET"]),
            Route("/webchat/api/message", self._guarded(self.message, Kind.MESSAGE), methods=["POST"]),
            Route("/webchat/api/photo", self._guarded(self.photo, Kind.PHOTO), methods=["POST"]),
            Route("/webchat/api/updates", self._guarded(self.updates, Kind.UPDATES), methods=["POST"]),
            Route("/webchat/api/updates/ack", self._guarded(self.ack, Kind.UPDATES), methods=["POST"]),
            Route("/webchat/api/forget", self._guarded(self.forget, Kind.MESSAGE), methods=["POST"]),
            Mount("/webchat/static", app=StaticFiles(directory=HERE / "static"), name="webchat-static"),
        ]

    # -- the page and its cookie --------------------------------------------------------------------

    def _https(self, request: Request) -> bool:
        if self.web.public_url:
            return urlsplit(self.web.public_url).scheme == "https"
        return request.url.scheme == "https"

    def _origin(self, request: Request) -> str:
        base = urlsplit(self.web.public_url) if self.web.public_url else urlsplit(str(request.base_url))
        return f"{base.scheme}://{base.netloc}"

    def _session(self, request: Request) -> str | None:
        return self.signer.session_from_cookie(request.cookies.get(SECURE_COOKIE) or request.cookies.get(COOKIE))

    async def page(self, request: Request) -> Response:
        session_id = self._session(request) or new_session_id()
        html = self._page.render(
            csrf=self.signer.csrf_token(session_id),
            poll_seconds=self.web.poll_seconds,
            max_chars=self.settings.max_message_chars,
            max_photo_bytes=self.web.max_photo_bytes,
            max_photo_mb=self.web.max_photo_bytes // MEGABYTE,
        )
        response = HTMLResponse(html, headers=SECURITY_HEADERS)
        # Sent again on every visit, so the session lasts `session_days` from the last visit.
        secure = self._https(request)
        response.set_cookie(
            SECURE_COOKIE if secure else COOKIE, self.signer.cookie_value(session_id),
            max_age=self.web.session_days * 86400 or None, path="/", secure=secure, httponly=True, samesite="lax",
        )
        return response

    def _guarded(self, handler: Callable[[Request, str], Awaitable[Response]], kind: Kind) -> Endpoint:
        """A POST endpoint that runs only for a request from this site, with a session and its CSRF token,
        within the rate limits for its kind."""

        async def endpoint(request: Request) -> Response:
            origin = request.headers.get("origin")
            fetch_site = request.headers.get("sec-fetch-site")
            expected = self._origin(request)
            if (origin is not None and origin != expected) or fetch_site not in (None, "same-origin"):
                # Origins are sites, not people: logged so a proxy set up without WEBCHAT_PUBLIC_URL is
                # easy to spot (every POST refused, the origin https://... and this http://...).
                log.warning("web chat request refused: from another site",
                            extra={"origin": (origin or "")[:100], "expected": expected, "fetch_site": fetch_site})
                return _problem(403, "cross_site", texts.REFUSED)
            session_id = self._session(request)
            if session_id is None:
                return _problem(403, "no_session", texts.SESSION_ENDED)
            if not self.signer.csrf_ok(session_id, request.headers.get(CSRF_HEADER)):
                log.warning("web chat request refused: wrong or missing CSRF token")
                return _problem(403, "csrf", texts.REFUSED)
            # The address the connection came from, or the client's as a trusted proxy reports it
            # (uvicorn reads X-Forwarded-For from the addresses in FORWARDED_ALLOW_IPS only).
            verdict = await self.limits.take(kind, session_id, request.client.host if request.client else "")
            if not verdict.allowed:
                return _slow_down(kind, verdict.retry_after_header)
            return await handler(request, session_id)

        return endpoint

    # -- a turn with the assistant ------------------------------------------------------------------

    async def _json(self, request: Request) -> dict[str, Any] | None:
        try:
            raw = await uploads.read_capped(request.stream(), MAX_JSON_BYTES)
            body = json.loads(raw)
        except (uploads.TooLarge, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def _render(self, session_id: str, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"text": reply.text}
        if reply.buttons:
            message["buttons"] = self._buttons(session_id, reply.buttons)
        # Shown as a link: the page's CSP loads images from this site only.
        if reply.image and reply.image.startswith(("https://", "http://")):
            message["image"] = reply.image
        return message

    def _buttons(self, session_id: str, buttons: tuple[Button, ...]) -> list[dict[str, str]]:
        return [{"title": b.title, "payload": b.payload, "sig": self.signer.button(session_id, b.payload)}
                for b in buttons if len(b.payload) <= MAX_PAYLOAD_CHARS]

    async def _count_conversation(self, session_id: str) -> None:
        """Tell the repairs service a message arrived, so it counts the conversation this may begin (web chat
        claims no updates, which is where Telegram's are counted). Only a count: never in the turn's way."""
        try:
            await self.repairs.conversation_turn(CHANNEL, session_id, timeout=CONVERSATION_COUNT_TIMEOUT)
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("web chat conversation not counted: %s", exc)

    async def _turn(self, request: Request, session_id: str, text: str, *, typed: bool) -> Response:
        started = time.monotonic()
        # Counted alongside the turn, not before it: the count never holds up the resident's answer.
        counting = asyncio.create_task(self._count_conversation(session_id))
        # Signed with the turn, so the actions can pass it to the identity check (X-Resident-Client).
        client = self.signer.client_digest(request.client.host if request.client else "")
        metadata = {"channel": CHANNEL, "client": client}
        try:
            replies = await self.rasa.send(sender_for(session_id), text, metadata, typed=typed)
        except NothingSaid:
            log.warning("assistant said nothing to a typed message")
            replies = [Reply(text=texts.NO_ANSWER)]
        except AssistantUnavailable as exc:
            log.warning("assistant unavailable: %s", exc)
            return _problem(503, "assistant_unavailable", texts.ASSISTANT_DOWN)
        finally:
            await counting
        log.info("web chat turn answered", extra={"replies": len(replies),
                                                  "ms": round((time.monotonic() - started) * 1000)})
        return _answer([self._render(session_id, r) for r in replies])

    async def message(self, request: Request, session_id: str) -> Response:
        body = await self._json(request)
        if body is None:
            return _problem(400, "bad_request", texts.BAD_REQUEST)
        button = body.get("button")
        if isinstance(button, dict):
            payload, signature = button.get("payload"), button.get("sig")
            if not (isinstance(payload, str) and isinstance(signature, str) and payload
                    and len(payload) <= MAX_PAYLOAD_CHARS and self.signer.button_ok(session_id, payload, signature)):
                return _problem(400, "button_expired", texts.BUTTON_EXPIRED)
            # A button this session was offered: may choose an intent.
            return await self._turn(request, session_id, payload, typed=False)
        raw = body.get("text")
        if not isinstance(raw, str):
            return _problem(400, "bad_request", texts.BAD_REQUEST)
        limit = self.settings.max_message_chars
        if len(raw) > limit:
            return _problem(422, "too_long", texts.TOO_LONG.format(limit=limit))
        words = as_plain_text(raw)  # typed words never choose an intent ("/affirm{...}" is read as words)
        if not words:
            return _problem(422, "empty", texts.EMPTY)
        return await self._turn(request, session_id, words, typed=True)

    # -- photos -------------------------------------------------------------------------------------

    async def photo(self, request: Request, session_id: str) -> Response:
        limit = self.web.max_photo_bytes
        too_big = _problem(413, "too_large", texts.PHOTO_TOO_BIG.format(limit=limit // MEGABYTE))
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return too_big
        try:
            data = await uploads.read_capped(request.stream(), limit)
        except uploads.TooLarge:
            return too_big
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        kind = uploads.sniff(data)
        if kind is None or content_type not in uploads.IMAGE_TYPES:
            log.info("web chat photo refused: not an image")
            return _problem(415, "not_an_image", texts.PHOTO_NOT_IMAGE)
        resident = sender_for(session_id)
        try:
            target = await photo_target(self.repairs, resident, request.query_params.get("reference"))
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("web chat photo: repairs service unavailable: %s", exc)
            return _problem(503, "repairs_unavailable", texts.PHOTO_FAILED)
        if target.found is Found.NOT_VERIFIED:
            # The edge's own request, as on Telegram: the assistant checks who they are, then asks again.
            return await self._turn(request, session_id, "/add_photo", typed=False)
        if target.found is Found.NO_REPAIR:
            return _answer([{"text": texts.PHOTO_NO_REPAIR}])
        if target.found is Found.NOT_YOURS:
            return _problem(404, "not_yours", texts.PHOTO_NOT_YOURS)
        if target.found is Found.CHOOSE or target.reference is None:
            # The page still holds the photo: it sends it again with the repair the resident picks.
            choices = [{"title": f"{t.reference}: {t.summary}"[:80], "reference": t.reference}
                       for t in target.choices]
            return _answer([{"text": texts.PHOTO_WHICH, "buttons": choices}])
        try:
            await self.repairs.add_photo(resident, target.reference, data,
                                         filename=f"photo.{uploads.EXTENSIONS[kind]}", content_type=kind)
        except RepairsError as exc:
            # The service explains its refusals (too large, not an image) in words meant for the resident.
            log.info("web chat photo refused by the service: %s", exc.code)
            status = exc.status if 400 <= exc.status < 500 else 502
            return _problem(status, exc.code, exc.detail or texts.PHOTO_FAILED)
        except RepairsUnavailable as exc:
            log.warning("web chat photo: repairs service unavailable: %s", exc)
            return _problem(503, "repairs_unavailable", texts.PHOTO_FAILED)
        log.info("web chat photo added to a repair")
        return _answer([{"text": texts.PHOTO_ADDED.format(reference=target.reference)}])

    # -- proactive updates, pulled ------------------------------------------------------------------

    async def updates(self, request: Request, session_id: str) -> Response:
        try:
            items = await self.repairs.claim_chat(session_id, limit=self.web.updates_per_poll,
                                                  lease_seconds=self.web.update_lease_seconds)
        except (RepairsUnavailable, RepairsError) as exc:
            # Nothing is lost: the updates stay in the outbox for the next ask.
            log.warning("web chat updates: repairs service unavailable: %s", exc)
            return _answer([], retry=True)
        messages = []
        for item in items:
            buttons = tuple(Button(title=str(b.get("title") or b.get("payload")), payload=str(b["payload"]))
                            for b in item.get("buttons") or [] if isinstance(b, dict) and b.get("payload"))
            message: dict[str, Any] = {"text": str(item.get("text") or ""), "update": True, "id": int(item["id"]),
                                       "ack": self.signer.ack(session_id, int(item["id"]), int(item["attempts"]))}
            if buttons:
                message["buttons"] = self._buttons(session_id, buttons)
            messages.append(message)
        if messages:
            log.info("web chat updates handed to a page", extra={"count": len(messages)})
        return _answer(messages)

    async def ack(self, request: Request, session_id: str) -> Response:
        body = await self._json(request)
        acks = body.get("acks") if body else None
        if not isinstance(acks, list) or len(acks) > 100:
            return _problem(400, "bad_request", texts.BAD_REQUEST)
        ids = [self.signer.ack_id(session_id, a) if isinstance(a, str) else None for a in acks]
        if any(i is None for i in ids):
            return _problem(400, "bad_ack", texts.BAD_REQUEST)
        try:
            for note_id in ids:
                assert note_id is not None
                await self.repairs.mark_sent(note_id)
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("web chat ack: repairs service unavailable: %s", exc)
            return _problem(503, "repairs_unavailable", texts.BAD_REQUEST)
        return Response(status_code=204, headers=SECURITY_HEADERS)

    # -- forget me ----------------------------------------------------------------------------------

    async def forget(self, request: Request, session_id: str) -> Response:
        resident = sender_for(session_id)
        try:
            await self.repairs.unlink(resident)
        except (RepairsUnavailable, RepairsError) as exc:
            log.warning("web chat forget: repairs service unavailable: %s", exc)
            return _problem(503, "repairs_unavailable", texts.FORGET_FAILED)
        text = texts.FORGOTTEN
        try:
            await self.rasa.erase(resident)
        except AssistantUnavailable as exc:
            log.warning("web chat forget: conversation not erased: %s", exc)
            text = texts.FORGET_PARTLY
        # The browser's session ends too: a new visit starts a new, unlinked one.
        response = _answer([{"text": text}], forgotten=True)
        for name in (COOKIE, SECURE_COOKIE):
            response.delete_cookie(name, path="/", secure=name == SECURE_COOKIE, httponly=True, samesite="lax")
        log.info("web chat forgotten")
        return response

