"""Announcements kept on record: who posted what, when, to which block or estate, and how many it reached."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base, UTCDateTime, utcnow


class AreaKind(enum.StrEnum):
    BLOCK = "block"
    ESTATE = "estate"


class AnnouncementKind(enum.StrEnum):
    PLANNED_WORKS = "planned_works"
    OUTAGE = "outage"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    kind: Mapped[AnnouncementKind] = mapped_column(_enum(AnnouncementKind))
    area_kind: Mapped[AreaKind] = mapped_column(_enum(AreaKind))
    area: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    # Homes with at least one resident reachable on a chat, and the residents messaged, when it was posted.
    households: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
