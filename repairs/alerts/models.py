"""One row per emergency ticket: raised when the ticket is created, acknowledged once by an officer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base, UTCDateTime, utcnow


class EmergencyAlert(Base):
    __tablename__ = "emergency_alerts"
    # The workspace banner asks for the unacknowledged ones on every page: a short scan of this index.
    __table_args__ = (Index("ix_emergency_alerts_ack_raised", "acknowledged_at", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
