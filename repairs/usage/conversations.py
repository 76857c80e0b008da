"""Counting conversations begun, at the channel edge rather than in the assistant.

A conversation is what Rasa calls a session: a chat's next message starts a new one once the chat has been
idle for the session expiry (domain.yml `session_config.session_expiration_time`, measured from the last
message the resident sent). Each chat keeps a sliding "conversation" value in its channel state
(repairs/channels/state.py) that expires after that idle time and is pushed back by every message; a message
that finds no live value begins a conversation and counts one. Counting it here keeps the action server out
of every conversation's first message (a custom action_session_start was tried: with the action server
down, a greeting got no answer). Only the channel's name reaches the counters; the chat id stays in the
channel state, which expires and goes with the rest of the chat's state when the resident is forgotten.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from repairs.channels import state
from repairs.database import utcnow
from repairs.usage.counting import count
from repairs.usage.models import UsageEvent

NAME = "conversation"  # the channel-state name; the edge's own names are different (bot/chat_state.py)
VALUE = "true"  # JSON, as every channel-state value is: only the expiry matters


def touch(session: Session, channel: str, chat: str, *, idle: timedelta, now: datetime | None = None) -> bool:
    """A message from `chat` on `channel`: True (and one more conversation counted) when it begins a new
    conversation, False when it carries one on. In the caller's transaction.

    Race-safe across replicas: the first-writer-wins insert is a single statement, so of two messages racing
    on a chat with no live conversation exactly one stores the value and counts; the other refreshes it."""
    now = now or utcnow()
    began = state.put(session, channel, chat, NAME, VALUE, ttl=idle, only_if_absent=True, now=now)
    if began:
        count(session, UsageEvent.CONVERSATION, channel, at=now)
    else:
        # Still going: the idle time runs from this message, as Rasa's does from the last one.
        state.put(session, channel, chat, NAME, VALUE, ttl=idle, now=now)
    return began
