"""Rasa's conversation events, as its event broker publishes them, read into what listening keeps.

Only a resident's own words count: a `user` event whose text was typed. A button's payload ("/affirm", or
the bot's `/choose_category{...}`) is the assistant's own vocabulary, not something a resident said.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from repairs_common.channels import identity_for_sender, parse_channel_identity
from repairs_common.taxonomy import category_from_intent

from repairs.triage.intents import contract_intent

MAX_TEXT = 2000


@dataclass(frozen=True)
class HeardMessage:
    """One typed message and what the assistant understood of it. `text` is raw: redact before keeping."""

    event_key: str
    channel: str
    external_id: str
    text: str
    intent: str | None
    category: str | None
    confidence: float | None
    fell_back: bool
    said_at: datetime


def event_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def read_event(raw: bytes | str | dict[str, Any]) -> HeardMessage | None:
    """The resident's message in one broker event, or None for any other event (or one not understood:
    a malformed event is skipped, never retried forever)."""
    try:
        event = json.loads(raw) if isinstance(raw, bytes | str) else raw
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or event.get("event") != "user":
        return None
    text = event.get("text")
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
        return None
    sender = identity_for_sender(str(event.get("sender_id") or ""))
    identity = parse_channel_identity(sender)
    found = event.get("parse_data")
    parse: dict[str, Any] = found if isinstance(found, dict) else {}
    intent, confidence, fell_back = _understood(parse)
    try:
        said_at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        said_at = datetime.now(UTC)
    message_id = str(event.get("message_id") or parse.get("message_id") or "")
    key = event_key("rasa", sender, message_id) if message_id else event_key(
        "rasa", sender, repr(event.get("timestamp")), text)
    coarse = contract_intent(intent) if intent else None
    category = category_from_intent(intent) if intent else None
    if coarse == "report_repair" and category is None:
        category = _category_in_ranking(parse)
    return HeardMessage(event_key=key, channel=identity.channel, external_id=identity.external_id,
                        text=text[:MAX_TEXT], intent=coarse, category=category, confidence=confidence,
                        fell_back=fell_back, said_at=said_at)


def _understood(parse: dict[str, Any]) -> tuple[str | None, float | None, bool]:
    """The best real intent and its confidence, and whether the assistant fell back (its FallbackClassifier
    put nlu_fallback first: it asked the resident what they meant)."""
    found = parse.get("intent")
    best: dict[str, Any] = found if isinstance(found, dict) else {}
    name = best.get("name") if isinstance(best.get("name"), str) else None
    confidence = _float(best.get("confidence"))
    if name != "nlu_fallback":
        return name, confidence, False
    for ranked in parse.get("intent_ranking") or []:
        if isinstance(ranked, dict) and ranked.get("name") not in (None, "nlu_fallback"):
            return str(ranked["name"]), _float(ranked.get("confidence")), True
    return None, confidence, True


def _category_in_ranking(parse: dict[str, Any]) -> str | None:
    for ranked in parse.get("intent_ranking") or []:
        if isinstance(ranked, dict) and isinstance(ranked.get("name"), str):
            category = category_from_intent(ranked["name"])
            if category:
                return category
    return None


def _float(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
