"""Daily counters of the assistant's conversations, by channel."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Date, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base


class UsageEvent(enum.StrEnum):
    CONVERSATION = "conversation"  # a conversation (Rasa session) began
    MISUNDERSTOOD = "misunderstood"  # a message the assistant did not understand
    MISUNDERSTOOD_CONVERSATION = "misunderstood_conversation"  # a conversation's first such message
    PERSON = "person"  # a conversation in which the resident asked for, or accepted, a person


class AssistantUsage(Base):
    """One counter per UK day, channel and event. Replicas add to it with one upsert each."""

    __tablename__ = "assistant_usage"
    __table_args__ = (PrimaryKeyConstraint("day", "channel", "event"),)

    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(Integer, default=0)
