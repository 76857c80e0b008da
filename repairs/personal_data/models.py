"""What the personal-data jobs record: each retention run, the lease that keeps it to one replica, and the
audit of subject access exports and erasures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base, UTCDateTime, utcnow


class RetentionRun(Base):
    """One retention run: when, started by what, and how many records of each kind it removed or anonymised.
    Only counts: never which residents or tickets."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(String(20))  # command, service
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, finished, failed
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # The exception's class name when it failed (never its message, which may quote values).
    error: Mapped[str | None] = mapped_column(String(100))


class JobLease(Base):
    """A named lease: the replica holding an unexpired one runs the job, the others skip it. A crashed
    holder's lease simply runs out."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataProtectionEvent(Base):
    """An officer exported or erased a resident's personal data. Kept as the council's record of meeting
    the request: who, when, which resident (by id only) and how much, never the data itself."""

    __tablename__ = "data_protection_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    resident_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key: the record outlives the row
    kind: Mapped[str] = mapped_column(String(20))  # export, erasure
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
