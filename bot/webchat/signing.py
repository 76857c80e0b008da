"""What the web chat signs, so it can trust what comes back from a browser without keeping state.

One secret, a separate HMAC purpose for each use, so a value signed for one use is never accepted for
another:
- the session cookie: `<session id>.<mac>`; the id is random, and the resident's chat is `web:<id>`;
- the CSRF token the page sends with every POST, bound to the session;
- the payload of each button the assistant offered in this session (only those may choose an intent,
  as on Telegram; typed words never do);
- the acknowledgement of an update this session was handed (so a page can only mark its own as seen);
- the names of rate-limit buckets (never sent out), so Redis holds no session id or client address;
- the client's digest, which goes with every turn to the assistant and on to the repairs service, whose
  identity-check throttle counts per client (fresh sessions from one address are one client there too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from repairs_common.client_addresses import client_network


def new_session_id() -> str:
    return secrets.token_urlsafe(24)  # 32 characters of A-Z, a-z, 0-9, - and _


class Signer:
    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("the web chat secret must be at least 16 characters")
        self._key = secret.encode()

    def _mac(self, purpose: str, *parts: str) -> str:
        message = "\x1f".join((purpose, *parts)).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _check(self, given: str, purpose: str, *parts: str) -> bool:
        return hmac.compare_digest(given.encode("ascii", "replace"), self._mac(purpose, *parts).encode())

    # -- the session cookie --
    def cookie_value(self, session_id: str) -> str:
        return f"{session_id}.{self._mac('session', session_id)}"

    def session_from_cookie(self, value: str | None) -> str | None:
        """The session id, if the cookie is one we signed; None otherwise."""
        if not value or len(value) > 200:
            return None
        session_id, _, mac = value.rpartition(".")
        if not session_id or not session_id.replace("-", "").replace("_", "").isalnum():
            return None
        return session_id if self._check(mac, "session", session_id) else None

    # -- CSRF --
    def csrf_token(self, session_id: str) -> str:
        return self._mac("csrf", session_id)

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and self._check(token or "", "csrf", session_id)

    # -- buttons --
    def button(self, session_id: str, payload: str) -> str:
        return self._mac("button", session_id, payload)

    def button_ok(self, session_id: str, payload: str, signature: str) -> bool:
        return self._check(signature, "button", session_id, payload)

    # -- update acknowledgements: "<outbox id>.<attempt>.<mac>" --
    def ack(self, session_id: str, note_id: int, attempt: int) -> str:
        return f"{note_id}.{attempt}.{self._mac('ack', session_id, str(note_id), str(attempt))}"

    def ack_id(self, session_id: str, token: str) -> int | None:
        """The outbox id an acknowledgement names, if this session was handed that update."""
        note, _, rest = token.partition(".")
        attempt, _, mac = rest.partition(".")
        if not (note.isdigit() and attempt.isdigit()) or len(note) > 12 or len(attempt) > 9:
            return None
        return int(note) if self._check(mac, "ack", session_id, note, attempt) else None

    # -- rate-limit bucket names: a keyed hash, so an address cannot be recovered by trying them all --
    def limit_key(self, scope: str, value: str) -> str:
        return f"{scope}:{self._mac('limit', scope, value)[:32]}"

    # -- the client, as the repairs service's throttles see it: a keyed digest of its network, never the
    # address (it is kept in the assistant's conversation store), the same from every session and replica --
    def client_digest(self, address: str) -> str:
        return self._mac("client", client_network(address))
