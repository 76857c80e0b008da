"""One row per emergency ticket: raised when the ticket is created, acknowledged once by an officer; and the
one-time codes that link an officer's Telegram account, so their taps on an alert's buttons count as theirs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
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


class TelegramLinkCode(Base):
    """A code the workspace showed an officer, for them to send to the bot from their own Telegram account:
    it proves that account is theirs. Works once, within ten minutes (repairs/alerts/telegram_link.py)."""

    __tablename__ = "telegram_link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    # A keyed hash (HMAC with REPAIRS_SECRET_KEY) of the code, never the code.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who sent it (kept with the code for the record of who linked what).
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
