"""What a resident types, made safe for the assistant: always words, never an intent.

Rasa reads a message that starts with "/" (after `str.strip()`) as `/intent{"slot": value}`: a typed
"/affirm{\"report_confirmed\": true}" would answer the bot's questions without the resident ever
reading them. Only the edge's own commands and buttons may choose an intent, so typed text loses its
leading slashes (with the whitespace Rasa strips) before it is passed on.
"""

from __future__ import annotations


def as_plain_text(text: str) -> str:
    """The text with every leading "/" removed, so Rasa's NLU reads it as words."""
    cleaned = text.strip()
    while cleaned.startswith("/"):
        cleaned = cleaned[1:].strip()
    return cleaned


def too_long(text: str, limit: int) -> bool:
    return len(text) > limit
