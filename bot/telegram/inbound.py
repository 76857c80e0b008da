"""What a resident types, made safe for the assistant: always words, never an intent.

Rasa reads a message that starts with "/" (after `str.strip()`) as `/intent{"slot": value}`: a typed
"/affirm{\"report_confirmed\": true}" would answer the bot's questions without the resident ever
reading them. Only the edge's own commands and buttons may choose an intent.

The rule is repairs_common.turn_signing.plain_words, and Rasa's signed channel applies it again to every
turn the bot marks as typed, so the assistant holds to it whoever calls. The edge applies it too, because
it needs the words themselves: to answer an empty message (a lone "/") itself, and to decide whether a
photo's caption says anything.
"""

from __future__ import annotations

from repairs_common.turn_signing import plain_words


def as_plain_text(text: str) -> str:
    """The text with every leading "/" removed, so Rasa's NLU reads it as words."""
    return plain_words(text)


def too_long(text: str, limit: int) -> bool:
    return len(text) > limit
