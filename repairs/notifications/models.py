"""The notifications outbox: rows written in the same transaction as the change they announce.

Delivery (Telegram, web chat) claims rows with `FOR UPDATE SKIP LOCKED`, so several bot replicas
can share the work, and sends each once, keyed by `delivery_key`. A claim is a lease: it pushes
`next_attempt_at` forward by the lease, so a row whose worker died becomes due again by itself.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base, UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the retry budget; visible to officers


class Notification(Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at", "id"),
        # The few rows addressed to a chat rather than a resident (the officers' group, an erasure's notice),
        # looked up by the chat when web chat asks for its messages.
        Index("ix_outbox_external_id", "external_id", postgresql_where=text("external_id IS NOT NULL"),
              sqlite_where=text("external_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(120), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x]),
        default=OutboxStatus.PENDING,
    )
    # Claims so far: also the token a worker's failure report must match (a report from a claim whose lease
    # ran out is stale).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Failures workers reported: what the retry budget counts. A lease that runs out with no report (a worker
    # killed, the service down past the lease) is not a failed send and costs no retry.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The channel the last claim chose (the ticket's own channel, else the newest linked identity),
    # kept so officers can see where a failed message was meant to go. Never the chat id itself.
    channel: Mapped[str | None] = mapped_column(String(20))
    # Set for a row addressed to a fixed chat rather than a resident (the officers' Telegram group):
    # with `channel`, where it goes. Resident rows leave it empty and are routed by their identities.
    external_id: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
