"""What can happen to a ticket. Every change writes an audit event, and every change a resident
should hear about writes an outbox row, in the same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from repairs_common.facts import Facts, FactsError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairs.alerts.raising import is_emergency, raise_alert
from repairs.appointments.slots import SlotConfig, book, describe
from repairs.auth.models import Officer
from repairs.database import utcnow
from repairs.notifications.buttons import is_it_fixed
from repairs.notifications.outbox import enqueue
from repairs.policy.engine import Policy
from repairs.policy.fact_rules import parse_facts
from repairs.residents.models import Property, Resident, Tenure
from repairs.tickets.lifecycle import (
    ACCEPTS_INFORMATION,
    ALLOWED_TRANSITIONS,
    RATEABLE,
    RESIDENT_CANCELLABLE,
    RESIDENT_REOPENABLE,
    check_transition,
    is_open,
)
from repairs.tickets.models import (
    Appointment,
    AppointmentStatus,
    Complaint,
    ComplaintEvent,
    LinkedResident,
    LocationType,
    Rating,
    Status,
    Ticket,
    TicketEvent,
)
from repairs.tickets.references import COMPLAINT_PREFIX, TICKET_PREFIX, new_reference


class TicketActionRefused(Exception):
    """A resident or officer asked for something the ticket's state does not allow."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotCouncilResponsibility(Exception):
    def __init__(self, reason: str, advice: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


@dataclass(frozen=True)
class Actor:
    type: str  # resident, officer, service, system, open311
    id: str | None = None


@dataclass(frozen=True)
class CreatedTicket:
    ticket: Ticket
    advice: str | None  # the safety advice the policy gave, for emergencies


@dataclass
class NewTicket:
    category: str
    description: str
    location_type: LocationType = LocationType.IN_HOME
    location: str | None = None
    block: str | None = None
    floor: str | None = None
    access_notes: str | None = None
    availability: str | None = None
    reported_emergency: bool = False
    vulnerable_present: bool = False
    channel: str = "api"
    reporter_name: str | None = None
    reporter_email: str | None = None
    reporter_phone: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # The last messages of the chat that produced the report ({"by": "resident"|"assistant", "text"}).
    conversation: list[dict[str, str]] | None = None
    # What the assistant read in the report, with the resident's answers to its questions: the fact rules
    # decide the priority from them. None: the phrase rules decide.
    facts: Facts | None = None


STATUS_MESSAGES = {
    Status.TRIAGED: "We have looked at your repair {ref} ({category}). It is {priority} and we aim to finish it {due}.",
    Status.IN_PROGRESS: "Work on your repair {ref} has started: an operative is on the way or with you now.",
    # Sent with the is_it_fixed buttons: "yes" leads on to the 1-5 rating, "not fixed" reopens.
    Status.COMPLETED: "Our operative has finished the work on {ref}. Is it fixed?",
    Status.CANCELLED: "Your repair {ref} has been cancelled.",
    Status.CLOSED: "Your repair {ref} is now closed. Thank you.",
    Status.REOPENED: "We have reopened your repair {ref} and will be in touch about the next visit.",
}


def summarise(description: str, limit: int = 230) -> str:
    text = re.sub(r"\s+", " ", description).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def record_event(
    ticket: Ticket,
    actor: Actor,
    kind: str,
    *,
    frm: Status | None = None,
    to: Status | None = None,
    data: dict[str, object] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket,
        actor_type=actor.type,
        actor_id=actor.id,
        kind=kind,
        from_status=frm.value if frm else None,
        to_status=to.value if to else None,
        data=data or {},
        at=utcnow(),
    )
    return event


def tell_residents(
    session: Session, ticket: Ticket, event: TicketEvent, kind: str, text: str, data: dict[str, object]
) -> None:
    """Queue the message for `event` to the ticket's resident and the households linked to it. The
    event's id makes the delivery key, so each is sent once however often delivery retries."""
    session.flush()
    enqueue(
        session,
        delivery_key=f"ticket:{ticket.id}:event:{event.id}",
        resident_id=ticket.resident_id,
        ticket_id=ticket.id,
        kind=kind,
        text=text,
        data={"reference": ticket.reference, **data},
    )
    # Linked households (the residents of duplicates merged into this ticket) hear the same news, without
    # buttons: those act on a ticket that is not theirs to rate or reopen.
    shared = {k: v for k, v in data.items() if k != "buttons"}
    for resident_id in session.scalars(
        select(LinkedResident.resident_id).where(LinkedResident.ticket_id == ticket.id).order_by(LinkedResident.id)
    ):
        if resident_id != ticket.resident_id:
            enqueue(
                session,
                delivery_key=f"ticket:{ticket.id}:event:{event.id}:resident:{resident_id}",
                resident_id=resident_id,
                ticket_id=ticket.id,
                kind=kind,
                text=text,
                data={"reference": ticket.reference, **shared},
            )


def _status_text(policy: Policy, ticket: Ticket) -> str | None:
    template = STATUS_MESSAGES.get(ticket.status)
    if template is None:
        return None
    return template.format(
        ref=ticket.reference,
        category=policy.category(ticket.category).name.lower(),
        priority=ticket.priority.value,
        due=policy.describe_deadline(ticket.due_at, utcnow()),
    )


def announce(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    event_kind: str,
    event_data: dict[str, object],
    kind: str,
    text: str,
    data: dict[str, object] | None = None,
) -> TicketEvent:
    """Record something that happened to the ticket and tell the resident, in one transaction."""
    event = record_event(ticket, actor, event_kind, data=event_data)
    session.add(event)
    tell_residents(session, ticket, event, kind, text, data or {})
    return event


def create_ticket(
    session: Session,
    policy: Policy,
    new: NewTicket,
    *,
    actor: Actor,
    resident: Resident | None,
    prop: Property | None,
    now: datetime | None = None,
    officer_alert_chat: str | None = None,
) -> CreatedTicket:
    """A new ticket, with its audit event. An emergency also raises the officers' alert in the same
    transaction: the workspace banner, and a message to `officer_alert_chat` (their Telegram group) if set."""
    now = now or utcnow()
    policy.category(new.category)  # KeyError for an unknown code: validated by callers first
    tenure = resident.tenure if resident is not None else None
    vulnerable = bool(resident is not None and resident.is_vulnerable) or new.vulnerable_present
    assessment = policy.assess(
        new.category,
        new.description,
        vulnerable=vulnerable,
        tenure=tenure,
        location_type=new.location_type,
        at=now,
        reported_emergency=new.reported_emergency,
        facts=new.facts,
    )
    if tenure == Tenure.LEASEHOLDER and not assessment.emergency:
        duty = policy.responsibility(tenure, new.category, new.location_type, new.description)
        if duty.responsible != "council":
            raise NotCouncilResponsibility(duty.reason, duty.advice)
    deadlines = policy.deadlines(assessment, new.category, now)
    ticket = Ticket(
        resident_id=resident.id if resident else None,
        property_id=prop.id if prop else None,
        category=new.category,
        priority=assessment.priority,
        status=Status.REPORTED,
        is_open=True,
        emergency=assessment.emergency,
        summary=summarise(new.description),
        description=new.description.strip(),
        location_type=new.location_type,
        location=new.location,
        block=new.block or (prop.block if prop and new.location_type != LocationType.IN_HOME else None),
        floor=new.floor,
        access_notes=new.access_notes,
        availability=new.availability,
        vulnerable=vulnerable,
        channel=new.channel,
        priority_reasons=list(assessment.reasons),
        facts=assessment.facts.to_json() if assessment.facts is not None else None,
        priority_rule=assessment.rule,
        priority_path=assessment.path,
        trade=policy.category(new.category).trade,
        reported_at=now,
        due_at=deadlines.due_at,
        make_safe_by=deadlines.make_safe_by,
        awaab_applies=assessment.awaab,
        awaab_investigate_by=deadlines.awaab_investigate_by,
        awaab_safety_work_by=deadlines.awaab_safety_work_by,
        hazard=assessment.hazard,
        hazard_group=assessment.hazard_group,
        reporter_name=new.reporter_name,
        reporter_email=new.reporter_email,
        reporter_phone=new.reporter_phone,
        created_at=now,
        updated_at=now,
    )
    # A random reference can collide (1 in hundreds of millions): the unique index refuses it and the
    # caller's run_once retries the whole create with a fresh draw.
    ticket.reference = new_reference(TICKET_PREFIX)
    session.add(ticket)
    session.add(
        record_event(
            ticket,
            actor,
            "created",
            to=Status.REPORTED,
            data={
                "priority": assessment.priority.value,
                "emergency": assessment.emergency,
                "reasons": list(assessment.reasons),
                "rule": assessment.rule,
                "path": assessment.path,
                "channel": new.channel,
            },
        )
    )
    if new.conversation:
        # Kept for officers (the ticket page), never sent anywhere or logged.
        session.add(record_event(ticket, actor, "conversation", data={"lines": list(new.conversation)}))
    session.flush()
    if is_emergency(ticket):
        block = ticket.block or (prop.block if prop is not None else None)
        raise_alert(session, policy, ticket, block=block, telegram_chat=officer_alert_chat)
    return CreatedTicket(ticket, assessment.advice)


def change_status(
    session: Session,
    policy: Policy,
    ticket: Ticket,
    target: Status,
    *,
    actor: Actor,
    note: str | None = None,
    notify: bool = True,
) -> TicketEvent:
    current = ticket.status
    check_transition(current, target)
    now = utcnow()
    ticket.status = target
    ticket.is_open = is_open(target)
    ticket.updated_at = now
    if target == Status.COMPLETED:
        ticket.completed_at = now
    elif target == Status.CLOSED:
        ticket.closed_at = now
    elif target == Status.CANCELLED:
        ticket.cancelled_at = now
    elif target == Status.REOPENED:
        ticket.reopen_count += 1
        ticket.completed_at = None
        ticket.closed_at = None
        _fresh_target(policy, ticket, now)
    if target in (Status.CANCELLED, Status.COMPLETED, Status.TRIAGED):
        _release_appointments(ticket, attended=target == Status.COMPLETED)
    event = record_event(ticket, actor, "status_changed", frm=current, to=target, data={"note": note} if note else None)
    session.add(event)
    if notify and ticket.resident_id is not None and actor.type != "resident":
        text = _status_text(policy, ticket)
        if text:
            data: dict[str, object] = {"status": ticket.status.value}
            if target == Status.COMPLETED:
                data["buttons"] = is_it_fixed(ticket.reference)
            tell_residents(session, ticket, event, f"status_{target.value}", text, data)
    session.flush()
    return event


def _fresh_target(policy: Policy, ticket: Ticket, now: datetime) -> None:
    """A reopened repair gets a fresh target from today, at the same priority, whoever reopens it."""
    assessment = policy.assess(
        ticket.category,
        ticket.description,
        vulnerable=ticket.vulnerable,
        tenure=ticket.resident.tenure if ticket.resident else None,
        location_type=ticket.location_type,
        at=now,
        reported_emergency=ticket.emergency,
        facts=_recorded_facts(ticket),
    )
    ticket.due_at = policy.deadlines(assessment, ticket.category, now).due_at


def _recorded_facts(ticket: Ticket) -> Facts | None:
    """The facts the ticket was decided from; None (the phrase rules) for a row from an older vocabulary, which
    must not stop a reopen."""
    if not ticket.facts:
        return None
    try:
        return parse_facts(ticket.facts)
    except FactsError:
        return None


def _release_appointments(ticket: Ticket, *, attended: bool) -> None:
    """A booked visit ends with the ticket: attended when the work is done, otherwise its seat goes back."""
    for appointment in ticket.appointments:
        if appointment.status == AppointmentStatus.BOOKED:
            appointment.status = AppointmentStatus.ATTENDED if attended else AppointmentStatus.CANCELLED


def resident_cancel(session: Session, policy: Policy, ticket: Ticket, *, actor: Actor, reason: str | None) -> None:
    if ticket.status not in RESIDENT_CANCELLABLE:
        raise TicketActionRefused(
            "cannot_cancel",
            f"Repair {ticket.reference} is {ticket.status.value.replace('_', ' ')} and can no longer be "
            "cancelled here; please call us if you need to stop the work.",
        )
    change_status(session, policy, ticket, Status.CANCELLED, actor=actor, note=reason)


def resident_reopen(session: Session, policy: Policy, ticket: Ticket, *, actor: Actor, reason: str) -> None:
    if ticket.status not in RESIDENT_REOPENABLE:
        raise TicketActionRefused(
            "cannot_reopen",
            f"Repair {ticket.reference} is {ticket.status.value.replace('_', ' ')}, so it is still open.",
        )
    change_status(session, policy, ticket, Status.REOPENED, actor=actor, note=reason)


def add_information(session: Session, ticket: Ticket, *, actor: Actor, text: str) -> TicketEvent:
    if ticket.status not in ACCEPTS_INFORMATION:
        raise TicketActionRefused(
            "closed_ticket", f"Repair {ticket.reference} is {ticket.status.value}; report a new repair instead."
        )
    event = record_event(ticket, actor, "information_added", data={"text": text})
    session.add(event)
    ticket.updated_at = utcnow()
    session.flush()
    return event


def rate(
    session: Session,
    policy: Policy,
    ticket: Ticket,
    *,
    actor: Actor,
    resident_id: int,
    score: int,
    comment: str | None,
    fixed: bool | None,
) -> Rating:
    if fixed is False:
        # "Not fixed" is a reopen first; the rating is still kept.
        if ticket.status in RESIDENT_REOPENABLE:
            resident_reopen(session, policy, ticket, actor=actor, reason="Resident says it is not fixed")
    elif ticket.status not in RATEABLE:
        raise TicketActionRefused(
            "not_finished", f"Repair {ticket.reference} is not finished yet, so it cannot be rated."
        )
    existing = session.scalar(select(Rating).where(Rating.ticket_id == ticket.id, Rating.resident_id == resident_id))
    if existing is not None:
        existing.score, existing.comment = score, comment
        rating = existing
    else:
        rating = Rating(ticket_id=ticket.id, resident_id=resident_id, score=score, comment=comment)
        session.add(rating)
    session.add(record_event(ticket, actor, "rated", data={"score": score, "fixed": fixed}))
    if fixed is True and ticket.status == Status.COMPLETED:
        change_status(session, policy, ticket, Status.CLOSED, actor=actor, note="Resident confirmed it is fixed")
    session.flush()
    return rating


def add_note(session: Session, ticket: Ticket, *, actor: Actor, text: str) -> TicketEvent:
    event = record_event(ticket, actor, "note", data={"text": text})
    session.add(event)
    ticket.updated_at = utcnow()
    session.flush()
    return event


def assign(session: Session, ticket: Ticket, *, actor: Actor, officer_id: int | None, trade: str | None) -> TicketEvent:
    if officer_id is None and trade is None:
        raise TicketActionRefused("nothing_to_assign", "Choose an officer, a trade, or both.")
    if officer_id is not None:
        target = session.get(Officer, officer_id)
        if target is None or not target.active:
            raise TicketActionRefused("unknown_officer", "There is no active officer with that id.")
    data: dict[str, object] = {}
    if officer_id is not None:
        data["officer_id"] = officer_id
        ticket.assigned_officer_id = officer_id
    if trade is not None:
        data["trade"] = trade
        ticket.trade = trade
    event = record_event(ticket, actor, "assigned", data=data)
    session.add(event)
    ticket.updated_at = utcnow()
    session.flush()
    return event


def message_resident(session: Session, ticket: Ticket, *, actor: Actor, text: str) -> TicketEvent:
    """An officer's words to the resident, delivered on their channel through the outbox."""
    if ticket.resident_id is None and not _linked_residents(session, ticket):
        raise TicketActionRefused(
            "no_resident", "This report came from outside the assistant: there is nobody to message."
        )
    return announce(
        session,
        ticket,
        actor=actor,
        event_kind="message_sent",
        event_data={"text": text},
        kind="officer_message",
        text=f"About your repair {ticket.reference}: {text}",
    )


def book_appointment(
    session: Session, policy: Policy, slots: SlotConfig, ticket: Ticket, *, actor: Actor, slot_id: str
) -> Appointment:
    """Book a free slot for the ticket's trade, or move its booking there, and tell the resident.
    Raises SlotUnavailable when the slot is not (or no longer) free."""
    if not ticket.is_open:
        raise TicketActionRefused("closed_ticket", f"Repair {ticket.reference} is {ticket.status.value}.")
    moved = any(a.status == AppointmentStatus.BOOKED for a in ticket.appointments)
    appointment = book(
        session,
        slots,
        policy.calendar,
        ticket_id=ticket.id,
        trade=ticket.trade or "multi_trade",
        slot_id=slot_id,
        now=utcnow(),
    )
    if Status.SCHEDULED in ALLOWED_TRANSITIONS[ticket.status]:
        change_status(session, policy, ticket, Status.SCHEDULED, actor=actor, notify=False)
    when = describe(appointment)
    verb = "moved to" if moved else "booked for"
    announce(
        session,
        ticket,
        actor=actor,
        event_kind="appointment_moved" if moved else "appointment_booked",
        event_data={"slot": slot_id, "when": when},
        kind="appointment",
        text=f"Your repair {ticket.reference} is {verb} {when}. Reply if that time does not suit you.",
        data={"starts_at": appointment.starts_at.isoformat()},
    )
    return appointment


def _linked_residents(session: Session, ticket: Ticket) -> list[int]:
    return list(session.scalars(select(LinkedResident.resident_id).where(LinkedResident.ticket_id == ticket.id)))


def record_investigation(session: Session, policy: Policy, ticket: Ticket, *, actor: Actor, at: datetime) -> None:
    """Awaab's Law: the written summary and safety-work clocks start when the hazard is investigated."""
    ticket.investigated_at = at
    if ticket.awaab_applies:
        summary_by, safety_by = policy.awaab_after_investigation(at)
        ticket.awaab_summary_by = summary_by
        ticket.awaab_safety_work_by = safety_by
    session.add(record_event(ticket, actor, "investigated", data={"at": at.isoformat()}))
    session.flush()


def create_complaint(
    session: Session,
    policy: Policy,
    *,
    resident_id: int,
    ticket: Ticket | None,
    text: str,
    actor: Actor,
    now: datetime | None = None,
) -> Complaint:
    now = now or utcnow()
    ack_by, respond_by = policy.complaint_deadlines(now, 1)
    complaint = Complaint(
        resident_id=resident_id,
        ticket_id=ticket.id if ticket else None,
        stage=1,
        text=text,
        acknowledge_by=ack_by,
        respond_by=respond_by,
        created_at=now,
    )
    for _attempt in range(5):
        complaint.reference = new_reference(COMPLAINT_PREFIX)
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
            break
        except IntegrityError:
            continue
    else:  # five clashes in a row: something is wrong with the references, not bad luck
        raise RuntimeError("no free complaint reference after 5 tries")
    # Its history starts here; officers add to it (repairs/complaints/handling.py).
    session.add(ComplaintEvent(complaint_id=complaint.id, actor_type=actor.type, actor_id=actor.id,
                               kind="received", stage=1, data={}, at=now))
    if ticket is not None:
        session.add(record_event(ticket, actor, "complaint", data={"complaint": complaint.reference}))
    session.flush()
    return complaint


