"""What the ticket page shows, read in one transaction: the report as the resident gave it, the photos,
the timeline with who did what, the messages about it, the resident, the clocks, and the choices each
action form offers (allowed next statuses, officers, trades, free slots)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repairs_common.facts import Facts, FactsError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from repairs.appointments.slots import free_slots
from repairs.auth.models import Officer
from repairs.complaints.handling import status_text
from repairs.context import ServiceContext
from repairs.notifications.models import Notification
from repairs.policy.fact_wording import describe_facts
from repairs.residents.models import ChannelIdentity, Resident, Tenancy
from repairs.tickets.lifecycle import ALLOWED_TRANSITIONS
from repairs.tickets.models import Complaint, LinkedResident, Priority, Status, Ticket, TicketMerge
from repairs.tickets.presenters import STATUS_TEXT, current_appointment
from repairs.tickets.queue import awaab_clock
from repairs.tickets.references import normalise_reference
from repairs.workspace.formatting import local_time, time_left

SLOT_DAYS = 15  # working days of free slots offered in the booking form

ACTOR_KINDS = {
    "resident": "Resident",
    "service": "Assistant",
    "system": "System",
    "open311": "Open311 client",
}

EVENT_TEXT = {
    "created": "Reported",
    "status_changed": "Status changed",
    "assigned": "Assigned",
    "note": "Internal note",
    "message_sent": "Message sent to the resident",
    "appointment_booked": "Appointment booked",
    "appointment_moved": "Appointment moved",
    "information_added": "Resident added information",
    "photo_added": "Photo added",
    "rated": "Resident rated the repair",
    "complaint": "Complaint made",
    "investigated": "Hazard investigated",
    "merged_into": "Merged into another ticket",
    "merged_from": "A duplicate was merged into this ticket",
    "open311_report": "Open311 report details",
    "household_affected": "Another household said it affects them too",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    who: str
    what: str
    details: list[tuple[str, str]]
    internal: bool  # never shown to the resident (notes)


@dataclass(frozen=True)
class Clock:
    name: str
    due: str
    left: str
    late: bool
    next: bool = False


@dataclass(frozen=True)
class SentMessage:
    at: str
    kind: str
    text: str
    status: str
    channel: str


@dataclass
class TicketPage:
    reference: str
    summary: str
    category: str
    category_name: str
    priority: str
    emergency: bool
    status: str
    status_label: str
    status_text: str
    is_open: bool
    channel: str
    reported_at: str
    # What the resident told the bot, as asked: label, value.
    told: list[tuple[str, str]]
    description: str
    priority_reasons: list[str]
    # "Priority from rule X because: <the facts in words>" (None for tickets from before rules were recorded).
    priority_basis: str | None
    photos: list[dict[str, Any]]
    timeline: list[TimelineEntry]
    # The chat that produced the report (who, words), when the assistant sent it with the report.
    conversation: list[tuple[str, str]]
    messages: list[SentMessage]
    resident: dict[str, Any] | None
    reporter: dict[str, str] | None
    linked: list[str]
    merged_into: str | None
    merged_from: list[str]
    assigned_to: str | None
    trade: str | None
    appointment: str | None
    target: Clock
    make_safe: Clock | None
    awaab: list[Clock]
    awaab_applies: bool
    hazard: str | None  # the hazard group's name ("Falls"), None for no hazard
    hazard_detail: str | None  # the HHSRS hazard ("Falling between levels")
    investigated_at: str | None
    # The action forms' choices.
    next_statuses: list[tuple[str, str]]
    officers: list[tuple[int, str]]
    trades: list[str]
    slots: list[tuple[str, str]]
    can_message: bool
    # Complaints about this repair: reference, stage and where each stands.
    complaints: list[tuple[str, int, str]]


def find_ticket(session: Session, reference: str) -> Ticket | None:
    ref = normalise_reference(reference)
    if ref is None:
        return None
    return session.scalar(
        select(Ticket)
        .where(Ticket.reference == ref)
        .options(
            selectinload(Ticket.photos),
            selectinload(Ticket.appointments),
            selectinload(Ticket.events),
            joinedload(Ticket.resident).joinedload(Resident.tenancy).joinedload(Tenancy.property),
            joinedload(Ticket.property),
        )
    )


def _clock(name: str, due: datetime, now: datetime) -> Clock:
    return Clock(name=name, due=local_time(due), left=time_left(due, now), late=due < now)


def _who(event_actor_type: str, actor_id: str | None, officers: dict[str, str]) -> str:
    if event_actor_type == "officer" and actor_id is not None:
        return officers.get(actor_id, f"Officer #{actor_id}")
    return ACTOR_KINDS.get(event_actor_type, event_actor_type.capitalize())


def _details(kind: str, data: dict[str, Any], officers: dict[str, str], from_status: str | None,
             to_status: str | None) -> list[tuple[str, str]]:
    """The event's data in words, one label and value each (never a raw dump)."""
    out: list[tuple[str, str]] = []
    if from_status or to_status:
        out.append(("Status", f"{(from_status or 'new').replace('_', ' ')} → {(to_status or '').replace('_', ' ')}"))
    if kind == "assigned":
        if "officer_id" in data:
            out.append(("Officer", officers.get(str(data["officer_id"]), f"Officer #{data['officer_id']}")))
        if "trade" in data:
            out.append(("Trade", str(data["trade"]).replace("_", " ")))
        return out
    labels = {
        "note": "Note", "text": "Text", "when": "When", "into": "Into", "from": "From", "summary": "Their words",
        "priority": "Priority", "reasons": "Why", "channel": "Channel", "score": "Score", "fixed": "Fixed",
        "complaint": "Complaint", "photo": "Photo", "households_linked": "Households linked",
        "brought_forward": "Taken from the duplicate", "at": "At", "media_url": "Link",
        "households": "Households affected",
    }
    for key, label in labels.items():
        if key not in data or data[key] in (None, "", []):
            continue
        value = data[key]
        if isinstance(value, list):
            value = ", ".join(str(v).replace("_", " ") for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif key == "at" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # written by us, but an old row should not break the page
                value = local_time(datetime.fromisoformat(value))
        out.append((label, str(value)))
    if kind == "open311_report":
        out.extend((k.replace("_", " ").capitalize(), str(v)) for k, v in data.items() if k not in labels)
    return out


def priority_basis(ticket: Ticket) -> str | None:
    """Which rule gave the priority, and the facts it rested on in words."""
    if ticket.priority_path is None:
        return None
    if ticket.priority_path == "detector":
        said = f"Priority from rule {ticket.priority_rule}: the gas and carbon monoxide check read it in the words"
    elif ticket.priority_rule is None:
        said = "Priority from the category's usual priority"
    elif ticket.priority_path == "phrases":
        said = f"Priority from phrase rule {ticket.priority_rule}"
    else:
        said = f"Priority from rule {ticket.priority_rule}"
    if ticket.facts is None:
        return said + " (the assistant sent no facts)"
    try:
        words = describe_facts(Facts.from_json(ticket.facts))
    except FactsError:  # written by us, but a row from another vocabulary should not break the page
        words = "facts recorded in an older form"
    return f"{said} because: {words}"


def build(session: Session, ctx: ServiceContext, ticket: Ticket, now: datetime, me: int) -> TicketPage:
    policy = ctx.policy
    officer_rows = session.execute(select(Officer.id, Officer.name, Officer.active).order_by(Officer.name)).all()
    officer_names = {str(oid): name for oid, name, _active in officer_rows}
    category = policy.categories.get(ticket.category)

    told: list[tuple[str, str]] = [
        ("Where", ticket.location_type.value.replace("_", " ") + (f": {ticket.location}" if ticket.location else "")),
    ]
    if ticket.block:
        told.append(("Block", ticket.block))
    if ticket.floor:
        told.append(("Floor", ticket.floor))
    told.append(("Access", ticket.access_notes or "No access notes given"))
    told.append(("When they are in", ticket.availability or "Not given"))
    told.append(("Someone vulnerable affected", "Yes" if ticket.vulnerable else "No"))

    timeline = [
        TimelineEntry(
            at=local_time(e.at),
            who=_who(e.actor_type, e.actor_id, officer_names),
            what=EVENT_TEXT.get(e.kind, e.kind.replace("_", " ").capitalize()),
            details=_details(e.kind, e.data or {}, officer_names, e.from_status, e.to_status),
            internal=e.kind == "note",
        )
        for e in reversed(ticket.events)  # newest first: what happened last is what an officer needs
        if e.kind != "conversation"  # shown whole in its own section
    ]
    conversation = [
        (str(line.get("by", "")), str(line.get("text", "")))
        for e in ticket.events
        if e.kind == "conversation"
        for line in (e.data or {}).get("lines", [])
        if isinstance(line, dict)
    ]

    notes = session.scalars(
        select(Notification).where(Notification.ticket_id == ticket.id).order_by(Notification.id.desc()).limit(50)
    ).all()
    messages = [
        SentMessage(
            at=local_time(n.sent_at or n.created_at),
            kind=n.kind.replace("_", " "),
            text=str((n.payload or {}).get("text", "")),
            status=n.status.value,
            channel=n.channel or "",
        )
        for n in notes
    ]

    resident = None
    if ticket.resident is not None:
        r = ticket.resident
        prop = r.tenancy.property
        channels = session.scalars(
            select(ChannelIdentity.channel).where(ChannelIdentity.resident_id == r.id).distinct()
        ).all()
        resident = {
            "name": r.full_name,
            "tenure": r.tenure.value,
            "tenancy": r.tenancy.reference,
            "vulnerabilities": [v.replace("_", " ") for v in r.vulnerabilities or []],
            "phone": r.phone,
            "email": r.email,
            "address": ", ".join(p for p in (prop.address_line1, prop.address_line2, prop.town, prop.postcode) if p),
            "estate": prop.estate,
            "channels": sorted(channels),
        }
    reporter = None
    if ticket.reporter_name or ticket.reporter_email or ticket.reporter_phone:
        reporter = {
            k: v
            for k, v in (
                ("name", ticket.reporter_name),
                ("email", ticket.reporter_email),
                ("phone", ticket.reporter_phone),
            )
            if v
        }

    linked = list(
        session.scalars(
            select(Resident.full_name)
            .join(LinkedResident, LinkedResident.resident_id == Resident.id)
            .where(LinkedResident.ticket_id == ticket.id)
            .order_by(LinkedResident.id)
        )
    )
    merged_from = list(
        session.scalars(
            select(Ticket.reference)
            .join(TicketMerge, TicketMerge.duplicate_id == Ticket.id)
            .where(TicketMerge.main_id == ticket.id)
            .order_by(TicketMerge.id)
        )
    )
    merged_into = ticket.merged_into.reference if ticket.status == Status.MERGED and ticket.merged_into else None

    awaab: list[Clock] = []
    if ticket.awaab_applies:
        running = awaab_clock(ticket)
        for name, moment in (
            ("investigate", ticket.awaab_investigate_by),
            ("written summary", ticket.awaab_summary_by),
            ("safety work", ticket.awaab_safety_work_by),
        ):
            if moment is not None:
                clock = _clock(name, moment, now)
                is_next = running is not None and running[0] == name
                awaab.append(Clock(clock.name, clock.due, clock.left, clock.late and ticket.is_open, is_next))

    slots: list[tuple[str, str]] = []
    if ticket.is_open:
        for s in free_slots(
            session, ctx.slots, policy.calendar, trade=ticket.trade or "multi_trade", now=now, days=SLOT_DAYS
        ):
            slots.append((s.slot_id, f"{s.day.strftime('%a')} {s.day.day} {s.day.strftime('%b')}, {s.label}"))

    appointment = current_appointment(ticket)
    assigned = officer_names.get(str(ticket.assigned_officer_id)) if ticket.assigned_officer_id else None
    officers = [(oid, name + (" (me)" if oid == me else "")) for oid, name, active in officer_rows if active]
    return TicketPage(
        reference=ticket.reference,
        summary=ticket.summary,
        category=ticket.category,
        category_name=category.name if category else ticket.category,
        priority=ticket.priority.value,
        emergency=ticket.emergency or ticket.priority == Priority.EMERGENCY,
        status=ticket.status.value,
        status_label=ticket.status.value.replace("_", " "),
        status_text=STATUS_TEXT[ticket.status],
        is_open=ticket.is_open,
        channel=ticket.channel,
        reported_at=local_time(ticket.reported_at),
        told=told,
        description=ticket.description,
        priority_reasons=[str(r) for r in ticket.priority_reasons or []],
        priority_basis=priority_basis(ticket),
        photos=[
            {"id": p.public_id, "width": p.width, "height": p.height, "at": local_time(p.created_at),
             "by": p.uploaded_by}
            for p in ticket.photos
        ],
        timeline=timeline,
        conversation=conversation,
        messages=messages,
        resident=resident,
        reporter=reporter,
        linked=linked,
        merged_into=merged_into,
        merged_from=merged_from,
        assigned_to=assigned,
        trade=ticket.trade,
        appointment=appointment.text if appointment else None,
        target=Clock("target", local_time(ticket.due_at), time_left(ticket.due_at, now),
                     ticket.is_open and ticket.due_at < now),
        make_safe=_clock("make safe", ticket.make_safe_by, now) if ticket.make_safe_by else None,
        awaab=awaab,
        awaab_applies=ticket.awaab_applies,
        hazard=policy.hazard_group_name(ticket.hazard_group) if ticket.hazard_group else None,
        hazard_detail=policy.hazard_name(ticket.hazard) if ticket.hazard else None,
        investigated_at=local_time(ticket.investigated_at) if ticket.investigated_at else None,
        # In the order a repair moves through them, not alphabetically.
        next_statuses=[(s.value, s.value.replace("_", " ")) for s in Status if s in ALLOWED_TRANSITIONS[ticket.status]],
        officers=officers,
        trades=sorted({c.trade for c in policy.categories.values()}),
        slots=slots,
        can_message=ticket.resident_id is not None or bool(linked),
        complaints=[(c.reference, c.stage, status_text(c)) for c in session.scalars(
            select(Complaint).where(Complaint.ticket_id == ticket.id).order_by(Complaint.id))],
    )
