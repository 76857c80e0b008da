"""The conversation excerpt sent with a new report, so officers can read the chat that produced it.

Plain Python over Rasa's tracker events (no rasa-sdk import), so it is tested on its own. It keeps the
current session's messages, newest last and at most `limit` of them: a tapped button appears as the
button's words, not its payload, and the verification exchange (tenancy reference and postcode) is left
out, because an officer needs the repair, not the resident's answers to an identity check.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List

from repairs_common.postcodes import find_postcode
from repairs_common.tenancy_references import find_tenancy_reference

MAX_LINES = 30  # the repairs service accepts at most this many
MAX_CHARS = 1000  # nor longer lines
LEFT_OUT = "(identity check answer left out)"


def _button_title(payload: str, offered: Dict[str, str]) -> str:
    return offered.get(payload, "(tapped a button)")


def report_excerpt(events: Iterable[Dict[str, Any]], limit: int = 20) -> List[Dict[str, str]]:
    """[{"by": "resident" | "assistant", "text": ...}] for the latest session, oldest first."""
    lines: List[Dict[str, str]] = []
    offered: Dict[str, str] = {}
    for event in events:
        kind = event.get("event")
        if kind == "session_started":
            lines, offered = [], {}
        elif kind == "bot":
            text = str(event.get("text") or "").strip()
            buttons = (event.get("data") or {}).get("buttons") or []
            offered = {str(b.get("payload")): str(b.get("title")) for b in buttons if isinstance(b, dict)}
            if text:
                lines.append({"by": "assistant", "text": text[:MAX_CHARS]})
        elif kind == "user":
            text = str(event.get("text") or "").strip()
            if text.startswith("/"):
                text = _button_title(text, offered)
            if not text:
                continue
            # The shapes the identity check asks for, read as actions/verification.py reads them.
            if find_tenancy_reference(text) or find_postcode(text):
                text = LEFT_OUT
            lines.append({"by": "resident", "text": text[:MAX_CHARS]})
    return lines[-min(limit, MAX_LINES):]
