"""How the bot signs a resident's turn for the assistant, and how the assistant checks it.

The assistant acts on whatever conversation id a turn names (the actions treat it as the resident's verified
identity), so a turn is accepted only when the bot vouches for it: an HMAC-SHA256, with a secret only the bot
and Rasa hold, over one canonical form of everything the turn says (who, what, what came with it, whether it
was typed or a button, when, and a one-time nonce). The bot signs with `signed_request`; Rasa's signed
channel (rasa_channel/signed.py) checks with `verify` and then refuses a nonce it has seen before.

The body on the wire is the canonical form itself, but the check does not rely on that: it rebuilds the
canonical form from the parsed fields, so the signature covers their meaning, never a byte layout, and a
body with any field more or less than these is refused.

Typed text never chooses an intent: Rasa reads a message starting with "/" as `/intent{"slot": value}`, so
a typed turn loses its leading slashes (`plain_words`) before Rasa sees it. A button payload, which the bot
offered and the resident tapped, passes as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Rasa serves a channel at /webhooks/<its name>/webhook (rasa_channel.signed.SignedChannel.name()).
CHANNEL_NAME = "signed"
WEBHOOK_PATH = f"/webhooks/{CHANNEL_NAME}/webhook"
SIGNATURE_HEADER = "X-Repairs-Signature"
# The version prefixes the signature, so a second scheme could be accepted beside this one during a change.
SCHEME = "v1"
# Domain separation: this key signs turns only, never anything that could be mistaken for one.
_CONTEXT = b"repairs-assistant-turn/v1\n"
DEFAULT_MAX_AGE_SECONDS = 60
# A secret shorter than this is refused on both sides (openssl rand -hex 32 makes 64 characters).
MIN_SECRET_CHARS = 32
TYPED = "typed"
BUTTON = "button"
_NONCE_BYTES = 16
_FIELDS = frozenset({"sender", "message", "metadata", "input", "timestamp", "nonce"})

# Why a turn was refused: the only thing about a refused turn that may be logged.
UNSIGNED = "unsigned"
MALFORMED = "malformed"
FORGED = "forged"
STALE = "stale"
REPLAYED = "replayed"


class TurnRefused(Exception):
    """The turn is not the bot's, or not now: `reason` is one of the constants above (never the turn's words)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Turn:
    sender: str
    message: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    typed: bool = True
    timestamp: int = 0
    nonce: str = ""

    def body(self) -> dict[str, Any]:
        return {"sender": self.sender, "message": self.message, "metadata": dict(self.metadata),
                "input": TYPED if self.typed else BUTTON, "timestamp": self.timestamp, "nonce": self.nonce}

    @property
    def text_for_assistant(self) -> str:
        """What Rasa should read: typed words as words only; a button's payload as it is."""
        return plain_words(self.message) if self.typed else self.message


def plain_words(text: str) -> str:
    """The text with every leading "/" removed (and the whitespace Rasa strips), so NLU reads it as words."""
    cleaned = text.strip()
    while cleaned.startswith("/"):
        cleaned = cleaned[1:].strip()
    return cleaned


def check_secret(secret: str) -> str:
    """The secret, or ValueError when it is too short to be one (an empty variable, a placeholder)."""
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"the turn-signing secret must be at least {MIN_SECRET_CHARS} characters "
                         "(make one with: openssl rand -hex 32)")
    return secret


def canonical(turn: Turn) -> bytes:
    """One byte string per turn: sorted keys, no spaces, ASCII only, no NaN."""
    return json.dumps(turn.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def signature(secret: str, turn: Turn) -> str:
    mac = hmac.new(secret.encode("utf-8"), _CONTEXT + canonical(turn), hashlib.sha256).hexdigest()
    return f"{SCHEME}={mac}"


def signed_request(secret: str, sender: str, message: str, metadata: Mapping[str, Any], *, typed: bool,
                   now: float | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one signed turn, ready to POST to the signed channel."""
    turn = Turn(sender=sender, message=message, metadata=dict(metadata), typed=typed,
                timestamp=int(time.time() if now is None else now), nonce=secrets.token_hex(_NONCE_BYTES))
    return canonical(turn), {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, turn)}


def verify(secret: str, body: bytes, signature_header: str | None, *, now: float,
           max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> Turn:
    """The turn `body` carries, when `signature_header` is the bot's signature of it and it is fresh.

    Raises TurnRefused. Whether the nonce was used before is the caller's to check (it needs a store that
    every replica sees)."""
    if not signature_header:
        raise TurnRefused(UNSIGNED)
    turn = _parse(body)
    expected = signature(secret, turn).encode("ascii")
    if not hmac.compare_digest(expected, signature_header.strip().encode("utf-8", "replace")):
        raise TurnRefused(FORGED)
    if abs(now - turn.timestamp) > max_age_seconds:
        raise TurnRefused(STALE)
    return turn


def _parse(body: bytes) -> Turn:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TurnRefused(MALFORMED) from None
    if not isinstance(data, dict) or set(data) != _FIELDS:
        raise TurnRefused(MALFORMED)
    sender, message, metadata = data["sender"], data["message"], data["metadata"]
    kind, timestamp, nonce = data["input"], data["timestamp"], data["nonce"]
    if not (isinstance(sender, str) and sender and isinstance(message, str) and isinstance(metadata, dict)
            and kind in (TYPED, BUTTON) and type(timestamp) is int and isinstance(nonce, str)
            and len(nonce) == 2 * _NONCE_BYTES and all(c in "0123456789abcdef" for c in nonce)):
        raise TurnRefused(MALFORMED)
    try:
        turn = Turn(sender=sender, message=message, metadata=metadata, typed=kind == TYPED,
                    timestamp=timestamp, nonce=nonce)
        canonical(turn)  # NaN or infinity in the metadata has no canonical form
    except ValueError:
        raise TurnRefused(MALFORMED) from None
    return turn
