"""Repair tickets and everything hanging off them: the audit trail, photos, complaints and ratings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repairs.database import Base, UTCDateTime, utcnow
from repairs.policy.vocabulary import LocationType, Priority
from repairs.residents.models import Property, Resident


class Status(enum.StrEnum):
    REPORTED = "reported"
    TRIAGED = "triaged"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"  # the work is done
    CLOSED = "closed"  # the resident confirmed it, or the confirmation window ran out
    CANCELLED = "cancelled"
    REOPENED = "reopened"
    # A duplicate report joined into another ticket for the same job (a TicketMerge row points there).
    MERGED = "merged"


OPEN_STATUSES = (
    Status.REPORTED,
    Status.TRIAGED,
    Status.SCHEDULED,
    Status.IN_PROGRESS,
    Status.REOPENED,
)


def _enum(e: type[enum.Enum]) -> Enum:
    return Enum(e, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # A resident's own list, newest first, paged by keyset.
        Index("ix_tickets_resident_created", "resident_id", "created_at", "id"),
        # The officer queue: open tickets by how soon they breach. The predicate is written exactly as
        # SQLAlchemy renders `Ticket.is_open.is_(True)` on each backend, because neither planner proves
        # `is_open IS true` implies a bare `is_open` (measured: a 110 ms sequential scan otherwise).
        Index(
            "ix_tickets_open_due",
            "due_at",
            "id",
            postgresql_where=text("is_open IS true"),
            sqlite_where=text("is_open IS 1"),
        ),
        Index("ix_tickets_status_due", "status", "due_at", "id"),
        Index("ix_tickets_priority_due", "priority", "due_at", "id"),
        Index("ix_tickets_category_due", "category", "due_at", "id"),
        # The reports count a period's reported and completed repairs. On PostgreSQL these are covering
        # (index-only scans: measured 7 ms against 25 ms for a sequential scan of 200,000 tickets).
        Index("ix_tickets_reported_at", "reported_at",
              postgresql_include=["category", "channel", "priority", "status", "cancelled_at", "completed_at",
                                  "reopen_count"]),
        Index("ix_tickets_completed_at", "completed_at", postgresql_include=["priority", "due_at", "reported_at"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What residents and officers see, e.g. HR-7K3Q9M. The id above is never shown.
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id"), index=True)
    # active_history on the attributes the reports' day counts depend on (repairs/reports/day_counts.py):
    # changing one loads its old value first, so the counts can take the old contribution away.
    category: Mapped[str] = mapped_column(String(30), active_history=True)
    priority: Mapped[Priority] = mapped_column(_enum(Priority), active_history=True)
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.REPORTED, active_history=True)
    # Denormalised from status so the queue's partial index is simple and portable.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(String(230))  # HACT DescriptionOfWork is 230 characters
    description: Mapped[str] = mapped_column(Text)
    location_type: Mapped[LocationType] = mapped_column(_enum(LocationType), default=LocationType.IN_HOME)
    location: Mapped[str | None] = mapped_column(String(200))
    block: Mapped[str | None] = mapped_column(String(100), index=True)
    floor: Mapped[str | None] = mapped_column(String(20))
    access_notes: Mapped[str | None] = mapped_column(Text)
    availability: Mapped[str | None] = mapped_column(String(500))
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default="api", active_history=True)
    priority_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What gave the priority: the facts decided on (repairs_common.facts' wire form, answers included; null
    # when the report came without them), the rule's name (null: the category's default) and the path
    # (facts, phrases, or the gas and carbon monoxide detector).
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    priority_rule: Mapped[str | None] = mapped_column(String(60))
    priority_path: Mapped[str | None] = mapped_column(String(10))
    trade: Mapped[str | None] = mapped_column(String(40))
    assigned_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)

    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, active_history=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    make_safe_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Awaab's Law clocks (damp and mould, emergency hazards); null where the law does not apply.
    awaab_applies: Mapped[bool] = mapped_column(Boolean, default=False)
    awaab_investigate_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaab_summary_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaab_safety_work_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The report's HHSRS hazard (repairs.policy.vocabulary.HHSRS_HAZARDS) and its group in the phases
    # (policy.yml awaab.hazard_groups), recorded whether or not the clocks apply; null: no hazard.
    hazard: Mapped[str | None] = mapped_column(String(40))
    hazard_group: Mapped[str | None] = mapped_column(String(40), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, active_history=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, active_history=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, active_history=True)

    # Someone who is not a known resident (an Open311 client such as FixMyStreet).
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_email: Mapped[str | None] = mapped_column(String(254))
    reporter_phone: Mapped[str | None] = mapped_column(String(30))
    # When the retention schedule (or an erasure) removed the report's free text and contact details, and
    # the free text in its audit entries (repairs/personal_data): each is done once.
    details_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audit_text_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    resident: Mapped[Resident | None] = relationship()
    property: Mapped[Property | None] = relationship()
    # For a `merged` duplicate, the ticket it was merged into (through its TicketMerge row).
    merged_into: Mapped[Ticket | None] = relationship(
        secondary="ticket_merges",
        primaryjoin="Ticket.id == TicketMerge.duplicate_id",
        secondaryjoin="Ticket.id == TicketMerge.main_id",
        uselist=False,
        viewonly=True,
    )
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id", cascade="all")
    photos: Mapped[list[Photo]] = relationship(back_populates="ticket", order_by="Photo.id")
    appointments: Mapped[list[Appointment]] = relationship(back_populates="ticket", order_by="Appointment.id")


class TicketEvent(Base):
    """The append-only audit trail: every change to a ticket, who made it and when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(20))  # resident, officer, service, system, open311
    actor_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


@event.listens_for(TicketEvent, "before_update")
def _events_are_append_only(*_args: object) -> None:
    raise RuntimeError("ticket events are append-only")


@event.listens_for(TicketEvent, "before_delete")
def _events_are_never_deleted(*_args: object) -> None:
    raise RuntimeError("ticket events are append-only")


class TicketMerge(Base):
    """A duplicate report merged into the ticket for the same job: the pointer from the duplicate."""

    __tablename__ = "ticket_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    duplicate_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    main_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkedResident(Base):
    """Another household that hears about this ticket: the resident of a duplicate merged into it
    (and, later, residents who say "me too" to a communal fault)."""

    __tablename__ = "ticket_linked_residents"
    __table_args__ = (UniqueConstraint("ticket_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    # The duplicate that brought them here, if any.
    via_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # One booked appointment per operative seat per slot: concurrent bookings cannot overbook.
        Index(
            "uq_appointments_booked_seat",
            "trade",
            "slot_date",
            "period",
            "seat",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    trade: Mapped[str] = mapped_column(String(40))
    slot_date: Mapped[str] = mapped_column(String(10))  # ISO date, local (Europe/London)
    period: Mapped[str] = mapped_column(String(10))  # am / pm
    seat: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(_enum(AppointmentStatus), default=AppointmentStatus.BOOKED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="appointments")


class Photo(Base):
    """A photo's record; the re-encoded image itself lives in the photo store, not the database."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="photos")


class Complaint(Base):
    """A complaint under the Housing Ombudsman Complaint Handling Code.

    The row holds the stage being worked now: its deadlines, and when it was acknowledged and answered.
    Escalation to stage 2 starts those afresh; what happened at stage 1 (who, when, the answer, and the
    deadline each step was held to) stays in the complaint's events.
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    stage: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, answered (repairs/complaints)
    text: Mapped[str] = mapped_column(Text)
    acknowledge_by: Mapped[datetime] = mapped_column(UTCDateTime)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(Text)  # the answer sent to the resident at this stage
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its words (and its answers') were removed under the retention schedule or an erasure.
    details_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The database removes the events with the complaint (a resident's erasure); the ORM never deletes them.
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", passive_deletes=True
    )


class ComplaintEvent(Base):
    """The complaint's append-only history: received, acknowledged, answered, escalated; who and when.

    `due_at` is the deadline an acknowledgement or answer was held to when it was given, so the reports
    can say whether each stage's step was late after the row has moved on to the next stage."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(20))  # resident, officer, service, system (as ticket events)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


@event.listens_for(ComplaintEvent, "before_update")
def _complaint_events_are_append_only(*_args: object) -> None:
    raise RuntimeError("complaint events are append-only")


@event.listens_for(ComplaintEvent, "before_delete")
def _complaint_events_are_never_deleted(*_args: object) -> None:
    raise RuntimeError("complaint events are append-only")


class Rating(Base):
    """A resident's satisfaction with a finished repair (a post-job survey, reported apart from TSMs)."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("ticket_id", "resident_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallbackRequest(Base):
    """A resident asked for a person: the repairs team calls them back."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
