"""Turning tickets into what residents (and officers) are shown."""

from __future__ import annotations

from datetime import datetime

from repairs.appointments.slots import describe
from repairs.policy.engine import Policy
from repairs.tickets.lifecycle import RATEABLE, RESIDENT_CANCELLABLE, RESIDENT_REOPENABLE
from repairs.tickets.models import AppointmentStatus, LocationType, Status, Ticket
from repairs.tickets.schemas import AppointmentOut, PhotoOut, TicketOut

STATUS_TEXT = {
    Status.REPORTED: "Reported: we have your report and will look at it soon.",
    Status.TRIAGED: "Being arranged: we have assessed it and are arranging the work.",
    Status.SCHEDULED: "Booked: an appointment is arranged.",
    Status.IN_PROGRESS: "In progress: an operative is working on it.",
    Status.COMPLETED: "Work done: please tell us if it is fixed.",
    Status.CLOSED: "Closed: the repair is finished.",
    Status.CANCELLED: "Cancelled.",
    Status.REOPENED: "Reopened: we are arranging another visit.",
    Status.MERGED: "Joined with another report of the same repair: updates come under that one.",
}


def current_appointment(ticket: Ticket) -> AppointmentOut | None:
    booked = [a for a in ticket.appointments if a.status == AppointmentStatus.BOOKED]
    if not booked:
        return None
    appt = booked[-1]
    return AppointmentOut(
        date=appt.slot_date, period=appt.period, starts_at=appt.starts_at, ends_at=appt.ends_at, text=describe(appt)
    )


def ticket_out(ticket: Ticket, policy: Policy, now: datetime, *, advice: str | None = None,
               linked: bool = False) -> TicketOut:
    """`linked`: the view of a household linked to another's report (repairs/tickets/shared_faults.py, merges)."""
    if linked:
        return linked_out(ticket, policy, now)
    return TicketOut(
        reference=ticket.reference,
        category=ticket.category,
        category_name=policy.category(ticket.category).name,
        priority=ticket.priority,
        emergency=ticket.emergency,
        status=ticket.status,
        status_text=STATUS_TEXT[ticket.status],
        summary=ticket.summary,
        description=ticket.description,
        location_type=ticket.location_type,
        location=ticket.location,
        reported_at=ticket.reported_at,
        due_at=ticket.due_at,
        due_text=policy.describe_deadline(ticket.due_at, now),
        make_safe_by=ticket.make_safe_by,
        awaab_investigate_by=ticket.awaab_investigate_by,
        appointment=current_appointment(ticket),
        photos=[
            PhotoOut(id=p.public_id, width=p.width, height=p.height, size_bytes=p.size_bytes, created_at=p.created_at)
            for p in ticket.photos
        ],
        can_cancel=ticket.status in RESIDENT_CANCELLABLE,
        can_reopen=ticket.status in RESIDENT_REOPENABLE,
        can_rate=ticket.status in RATEABLE,
        advice=advice,
        # Only a merged ticket has a pointer to look up: no query for any other.
        merged_into=ticket.merged_into.reference if ticket.status == Status.MERGED and ticket.merged_into else None,
    )


def linked_out(ticket: Ticket, policy: Policy, now: datetime) -> TicketOut:
    """Another household's report, for a household linked to it: its progress, and nothing that household
    told us. A communal fault's summary and place are already shown to the block (GET /shared-faults); a
    report from inside a home shows only its category, and no appointment (that is a visit to their home)."""
    communal = ticket.location_type == LocationType.COMMUNAL
    category_name = policy.category(ticket.category).name
    return TicketOut(
        reference=ticket.reference,
        category=ticket.category,
        category_name=category_name,
        priority=ticket.priority,
        emergency=ticket.emergency,
        status=ticket.status,
        status_text=STATUS_TEXT[ticket.status],
        summary=ticket.summary if communal else f"{category_name} (reported by another household)",
        description="",
        location_type=ticket.location_type,
        location=ticket.location if communal else None,
        reported_at=ticket.reported_at,
        due_at=ticket.due_at,
        due_text=policy.describe_deadline(ticket.due_at, now),
        make_safe_by=ticket.make_safe_by,
        awaab_investigate_by=ticket.awaab_investigate_by,
        appointment=current_appointment(ticket) if communal else None,
        photos=[],
        can_cancel=False,
        can_reopen=False,
        can_rate=False,
        linked=True,
    )
