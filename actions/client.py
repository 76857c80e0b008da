"""The one client the actions use to reach the repairs service.

Asynchronous (httpx), one per action-server process, so a call waiting on the service holds up only its own
conversation. Every call has a timeout. Reads are retried with bounded back-off (tenacity, asyncio.sleep);
creates are retried too, but only because each carries an Idempotency-Key, so a retry can never make a second
ticket. Failures
surface as `ServiceUnavailable` (a failure on our side: the service is down, timing out, failing
with a 5xx, or refusing our own token; tell the resident nothing was lost) or `ApiError` (the service
answered the request itself with a 4xx problem document: "no match", "not yours", "too many tries").
Only an `ApiError` says anything about what the resident told us.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # connect, read
MAX_BACKOFF = 2.0  # seconds: the longest wait between two attempts, however many there are
RETRY_STATUSES = {502, 503, 504}
# 401: the service refused the action server's own token (a wrong or rotated REPAIRS_API_TOKEN). Our fault,
# never the resident's, so it is a failure like a 500, not an answer.
OUR_FAILURE_STATUSES = {401}
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class ServiceUnavailable(Exception):
    """The repairs service could not be reached, kept failing, or refused our own token. `kind` says which
    (an exception type or "status 500"); `request_id` is the service's X-Request-ID, when it answered.
    `retryable`: whether sending the same request again may help (a refused token or a 500 will not)."""

    def __init__(self, kind: str, request_id: str = "", *, retryable: bool = True) -> None:
        super().__init__(kind)
        self.kind = kind
        self.request_id = request_id
        self.retryable = retryable


@dataclass
class ApiError(Exception):
    status: int
    code: str
    detail: str
    body: Dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}"


def _duplicate_in_flight(response: httpx.Response) -> bool:
    """The service's 409 "retry": the same idempotency key is still being served (the first attempt timed out
    on our side but is running there). Sending it again is safe and gets the first attempt's answer."""
    if response.status_code != 409:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == "retry"


def _worth_retrying(error: BaseException) -> bool:
    return isinstance(error, ServiceUnavailable) and error.retryable


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    token: str
    timeout: Tuple[float, float] = DEFAULT_TIMEOUT  # connect, read
    retries: int = 2
    backoff: float = 0.3

    @classmethod
    def from_env(cls) -> ClientSettings:
        token = os.environ.get("REPAIRS_API_TOKEN", "")
        if not token:
            token_file = os.environ.get("REPAIRS_API_TOKEN_FILE", "")
            if token_file and os.path.exists(token_file):
                with open(token_file, encoding="utf-8") as fh:
                    token = fh.read().strip()
        return cls(
            base_url=os.environ.get("REPAIRS_API_URL", "http://127.0.0.1:8000").rstrip("/"),
            token=token,
        )

    def http_timeout(self) -> httpx.Timeout:
        connect, read = self.timeout
        return httpx.Timeout(read, connect=connect)


def _request_id(response: httpx.Response) -> str:
    # Only an id as the service makes them (repairs/unexpected_errors.py): nothing else reaches a log line.
    given = response.headers.get("X-Request-ID", "")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else ""


class RepairsClient:
    """Asynchronous: an action waiting for the service yields the action server's event loop to the other
    conversations, so one slow call stalls nobody else's turn. One per process (see get_client), so its
    connection pool is shared by every action."""

    def __init__(self, settings: ClientSettings, http: Optional[httpx.AsyncClient] = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=settings.http_timeout())

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- plumbing -------------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        *,
        resident: Optional[str] = None,
        json: Any = None,
        params: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
        files: Any = None,
        extra_headers: Optional[Dict[str, str]] = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.settings.token}", "Accept": "application/json"}
        headers.update(extra_headers or {})
        if resident:
            headers["X-Resident-Channel"] = resident
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        safe_to_retry = method == "GET" or idempotency_key is not None
        # tenacity, as the bot's clients use it: bounded exponential back-off with asyncio.sleep, retrying only
        # the failures `_attempt` marks retryable, and the last failure raised as it was.
        retrying = AsyncRetrying(
            stop=stop_after_attempt(1 + (self.settings.retries if safe_to_retry else 0)),
            wait=wait_exponential(multiplier=self.settings.backoff, max=MAX_BACKOFF),
            retry=retry_if_exception(_worth_retrying),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(method, path, headers=headers, json=json, params=params,
                                               files=files, safe_to_retry=safe_to_retry)
        except ServiceUnavailable as failure:
            # The method and path (ids and references, never what the resident said) and the service's request
            # id, so an operator can find the service's own line about it.
            logger.warning("repairs service call failed: %s %s: %s (request id %s)", method, path, failure.kind,
                           failure.request_id or "none")
            raise
        raise ServiceUnavailable("no attempt", retryable=False)  # not reached: tenacity makes at least one

    async def _attempt(self, method: str, path: str, *, headers: Dict[str, str], json: Any,
                       params: Optional[Dict[str, Any]], files: Any, safe_to_retry: bool) -> Any:
        try:
            response = await self.http.request(method, self.settings.base_url + path, headers=headers, json=json,
                                               params=params, files=files)
        except httpx.HTTPError as exc:  # connection refused, timeouts, resets
            raise ServiceUnavailable(type(exc).__name__) from None
        if response.status_code in RETRY_STATUSES or (safe_to_retry and _duplicate_in_flight(response)):
            raise ServiceUnavailable(f"status {response.status_code}", _request_id(response))
        if 200 <= response.status_code < 300:
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        if response.status_code >= 500 or response.status_code in OUR_FAILURE_STATUSES:
            # Not retried: a 500 on a create may have half-happened, and a refused token stays refused.
            raise ServiceUnavailable(f"status {response.status_code}", _request_id(response), retryable=False)
        try:
            body = response.json()
        except ValueError:
            body = {}
        raise ApiError(
            status=response.status_code,
            code=str(body.get("code", "error")) if isinstance(body, dict) else "error",
            detail=str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else "",
            body=body if isinstance(body, dict) else {},
        )

    # --- residents -------------------------------------------------------------------------------
    async def verify(self, *, channel: str, channel_user_id: str, tenancy_reference: str, postcode: str,
                     client: Optional[str] = None) -> Dict[str, Any]:
        """`client`: the bot's keyed digest of a web chat's address, so the service counts failed checks
        per client whatever the session (see repairs/residents/verify_throttle.py)."""
        return await self._request(
            "POST",
            "/api/v1/residents/verify",
            json={
                "tenancy_reference": tenancy_reference,
                "postcode": postcode,
                "channel": channel,
                "channel_user_id": channel_user_id,
            },
            extra_headers={"X-Resident-Client": client} if client else None,
        )

    async def me(self, resident: str) -> Optional[Dict[str, Any]]:
        """The verified resident behind this chat, or None when the chat is not linked."""
        try:
            return await self._request("GET", "/api/v1/residents/me", resident=resident)
        except ApiError as exc:
            if exc.status in (403, 400):
                return None
            raise

    async def responsibility(self, resident: str, *, category: str, location_type: str,
                             text: str) -> Dict[str, Any]:
        return await self._request(
            "POST",
            "/api/v1/responsibility",
            resident=resident,
            json={"category": category, "location_type": location_type, "text": text[:4000]},
        )

    # --- tickets --------------------------------------------------------------------------------
    async def create_ticket(self, resident: str, body: Dict[str, Any], *, idempotency_key: str) -> Dict[str, Any]:
        return await self._request("POST", "/api/v1/tickets", resident=resident, json=body,
                                   idempotency_key=idempotency_key)

    async def list_tickets(self, resident: str, *, status: str = "open", limit: int = 10,
                           include_linked: bool = True) -> List[Dict[str, Any]]:
        """`include_linked=False`: only the resident's own reports, not neighbours' they are linked to."""
        params: Dict[str, Any] = {"status": status, "limit": limit, "include_linked": str(include_linked).lower()}
        page = await self._request("GET", "/api/v1/tickets", resident=resident, params=params)
        return list(page["items"])

    async def shared_faults(self, resident: str, category: str) -> List[Dict[str, Any]]:
        """Open faults in a shared part of the resident's block, in this category (oldest first)."""
        page = await self._request("GET", "/api/v1/shared-faults", resident=resident, params={"category": category})
        return list(page["items"])

    async def me_too(self, resident: str, reference: str) -> Dict[str, Any]:
        """Link the resident's household to an open shared fault (saying it twice changes nothing)."""
        return await self._request("POST", f"/api/v1/shared-faults/{quote(reference)}/me-too",
                                   resident=resident)

    async def get_ticket(self, resident: str, reference: str) -> Dict[str, Any]:
        return await self._request("GET", f"/api/v1/tickets/{quote(reference)}", resident=resident)

    async def cancel(self, resident: str, reference: str, reason: str = "") -> Dict[str, Any]:
        return await self._request(
            "POST", f"/api/v1/tickets/{quote(reference)}/cancel", resident=resident,
            json={"reason": reason or None},
        )

    async def reopen(self, resident: str, reference: str, reason: str) -> Dict[str, Any]:
        return await self._request(
            "POST", f"/api/v1/tickets/{quote(reference)}/reopen", resident=resident,
            json={"reason": reason[:4000] or "Not fixed"},
        )

    async def add_information(self, resident: str, reference: str, text: str, *,
                              idempotency_key: str) -> Dict[str, Any]:
        """Adds a line to the repair's history: keyed, so the same call made twice adds it once."""
        return await self._request(
            "POST", f"/api/v1/tickets/{quote(reference)}/information", resident=resident,
            json={"text": text[:4000]}, idempotency_key=idempotency_key,
        )

    async def rate(self, resident: str, reference: str, score: int, fixed: Optional[bool] = None) -> Dict[str, Any]:
        return await self._request(
            "POST", f"/api/v1/tickets/{quote(reference)}/rating", resident=resident,
            json={"score": score, "fixed": fixed},
        )

    async def complain(self, resident: str, text: str, *, reference: Optional[str],
                       idempotency_key: str) -> Dict[str, Any]:
        body: Dict[str, Any] = {"text": text[:4000]}
        if reference:
            body["ticket_reference"] = reference
        return await self._request("POST", "/api/v1/complaints", resident=resident, json=body,
                                   idempotency_key=idempotency_key)

    async def request_callback(self, resident: str, reason: str, *, idempotency_key: str) -> Dict[str, Any]:
        return await self._request("POST", "/api/v1/callbacks", resident=resident, json={"reason": reason[:1000]},
                                   idempotency_key=idempotency_key)

    async def count_usage(self, event: str, channel: str) -> None:
        """Add one to the assistant's daily usage counter (counts only). One quick attempt: a counter is never
        worth keeping a resident waiting, so a failure is the caller's to ignore."""
        try:
            response = await self.http.post(self.settings.base_url + "/api/v1/assistant/usage",
                                            timeout=httpx.Timeout(2.0, connect=1.0),
                                            json={"event": event, "channel": channel},
                                            headers={"Authorization": f"Bearer {self.settings.token}"})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(type(exc).__name__) from None
        if response.status_code != 204:
            raise ServiceUnavailable(f"status {response.status_code}")

    async def council(self) -> Dict[str, Any]:
        return await self._request("GET", "/api/v1/council")

    async def assess(self, category: str, text: str, *, emergency_signal: Optional[str] = None,
                     facts: Optional[Dict[str, Any]] = None,
                     answers: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The policy's verdict, without logging anything: with `facts` (and the resident's `answers`) it also
        names the question to ask when an unknown fact would change the priority."""
        body: Dict[str, Any] = {"category": category, "text": text[:4000]}
        if emergency_signal:
            body["emergency_signal"] = emergency_signal
        if facts is not None:
            body["facts"] = facts
            if answers:
                body["answers"] = answers
        return await self._request("POST", "/api/v1/assess", json=body)

    async def triage(self, text: str) -> Dict[str, Any]:
        return await self._request("POST", "/api/v1/triage", json={"text": text[:4000]})


_client: Optional[RepairsClient] = None


def get_client() -> RepairsClient:
    """The action server opens it in its event loop at start-up (action_server/app.py); elsewhere it is built
    on first use (never at import)."""
    global _client
    if _client is None:
        _client = RepairsClient(ClientSettings.from_env())
    return _client


def set_client(client: Optional[RepairsClient]) -> None:
    """Set the actions' client (the action server's start-up and stop; tests pointing at another service)."""
    global _client
    _client = client
