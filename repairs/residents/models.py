"""Homes, tenancies, residents and the messaging identities linked to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repairs.database import Base, UTCDateTime, utcnow
from repairs.policy.vocabulary import Tenure


class Property(Base):
    """A home (or communal space) the council owns, identified by its UPRN."""

    __tablename__ = "properties"

    id: Mapped[int] = mapped_column(primary_key=True)
    uprn: Mapped[str] = mapped_column(String(12), unique=True)
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(100), default="London")
    # Normalised: upper case, one space before the inward code ("NW1 7AB").
    postcode: Mapped[str] = mapped_column(String(8), index=True)
    block: Mapped[str | None] = mapped_column(String(100), index=True)
    estate: Mapped[str | None] = mapped_column(String(100), index=True)
    floor: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Tenancy(Base):
    __tablename__ = "tenancies"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id"), index=True)
    tenure: Mapped[Tenure] = mapped_column(Enum(Tenure, native_enum=False, length=20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    property: Mapped[Property] = relationship()
    residents: Mapped[list[Resident]] = relationship(back_populates="tenancy")


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenancy_id: Mapped[int] = mapped_column(ForeignKey("tenancies.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    # The lead tenant or leaseholder is the one a tenancy-reference check links to.
    is_lead: Mapped[bool] = mapped_column(Boolean, default=True)
    # Free-form codes such as "elderly", "disability", "young_children", "respiratory".
    vulnerabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Erased at the resident's request (repairs/personal_data/erasure.py): the row stays, nameless, because
    # the complaints and ratings the reports count hang off it; it no longer verifies.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenancy: Mapped[Tenancy] = relationship(back_populates="residents")
    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="resident", cascade="all, delete-orphan")

    @property
    def tenure(self) -> Tenure:
        return self.tenancy.tenure

    @property
    def is_vulnerable(self) -> bool:
        return bool(self.vulnerabilities)


class ChannelIdentity(Base):
    """A messaging identity (a Telegram chat, a web chat session) linked to a verified resident."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resident: Mapped[Resident] = relationship(back_populates="identities")


class VerificationAttempt(Base):
    """Identity checks not (yet) succeeded, kept in the database so throttling holds across replicas."""

    __tablename__ = "verification_attempts"
    __table_args__ = (Index("ix_verification_attempts_key_at", "key_hash", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A keyed hash (HMAC with REPAIRS_SECRET_KEY) of what was counted (chat, reference, client, postcode),
    # never the value: see repairs/residents/verify_throttle.py.
    key_hash: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
