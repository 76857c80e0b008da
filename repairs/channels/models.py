"""Inbound channel updates already taken, so each is processed once across restarts and replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base, UTCDateTime, utcnow


class ChannelUpdate(Base):
    """One update (a Telegram `update_id`, say) a channel edge has claimed. Only the id is kept:
    never the message. Rows older than a week are pruned; Telegram stops redelivering long before."""

    __tablename__ = "channel_updates"
    __table_args__ = (
        UniqueConstraint("channel", "update_id"),
        Index("ix_channel_updates_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelState(Base):
    """A small piece of a chat's state that a channel edge must share between its replicas: the message whose
    buttons are still open, a photo waiting for the resident to choose its repair, a button payload too long
    for Telegram's callback data. Each row expires; all of a chat's rows go when the chat is unlinked."""

    __tablename__ = "channel_state"
    __table_args__ = (
        UniqueConstraint("channel", "chat", "name"),
        Index("ix_channel_state_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(Text)  # JSON, as the edge sent it
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
