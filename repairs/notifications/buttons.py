"""Buttons sent with a proactive message. A tap sends the payload to the assistant as if typed.

Payloads use intents and entities the Rasa domain already has (`reopen_repair`, `rate_repair`,
`ticket_ref`), carry the reference because a proactive message has no conversation state behind it,
and stay within Telegram's 64-byte `callback_data` limit, less the short tag the bot puts in front to
say who owns a button, so the bot can send them as they are.
"""

from __future__ import annotations

import json

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for an inline button's callback_data
PAYLOAD_LIMIT = CALLBACK_DATA_LIMIT - 4  # room for the bot's owner tag ("r|" today)


def intent_payload(intent: str, **entities: str) -> str:
    payload = f"/{intent}" + (json.dumps(entities, separators=(",", ":")) if entities else "")
    if len(payload.encode()) > PAYLOAD_LIMIT:
        raise ValueError(f"button payload for {intent} is over {PAYLOAD_LIMIT} bytes")
    return payload


def is_it_fixed(reference: str) -> list[dict[str, str]]:
    """Asked when the work is done: "yes" goes on to the 1-5 rating, "not fixed" reopens the repair."""
    return [
        {"title": "Yes, it's fixed", "payload": intent_payload("rate_repair", ticket_ref=reference, fixed="yes")},
        {"title": "No, it's not fixed", "payload": intent_payload("reopen_repair", ticket_ref=reference)},
    ]
