"""Merging a duplicate report into the ticket for the same job.

The duplicate ends as `merged` with a pointer to the main ticket; its households (its resident and any
linked to it) are linked to the main ticket, so they hear its news from then on, and are told at once.
Nothing a duplicate knew is lost: the main ticket takes the earlier of the two targets and legal clocks
(the clock starts at first awareness, through whichever report came first) and the more urgent priority.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from repairs.alerts.raising import alert_if_raised, is_emergency
from repairs.database import utcnow
from repairs.policy.engine import Policy
from repairs.tickets.lifecycle import is_open
from repairs.tickets.models import AppointmentStatus, LinkedResident, Priority, Status, Ticket, TicketMerge
from repairs.tickets.service import Actor, TicketActionRefused, record_event, tell_residents

URGENCY = {Priority.EMERGENCY: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}
CLOCKS = ("due_at", "make_safe_by", "awaab_investigate_by", "awaab_summary_by", "awaab_safety_work_by")


def merge(
    session: Session,
    policy: Policy,
    duplicate: Ticket,
    main: Ticket,
    *,
    actor: Actor,
    officer_alert_chat: str | None,
) -> None:
    """Close `duplicate` as merged into `main`. Both must be open; the caller holds both rows locked.
    When the main ticket becomes an emergency by taking the duplicate's priority, the officers are
    alerted as for a new emergency (`officer_alert_chat`: their Telegram group, if set)."""
    if duplicate.id == main.id:
        raise TicketActionRefused("same_ticket", "A ticket cannot be merged into itself.")
    if not duplicate.is_open:
        raise TicketActionRefused(
            "closed_ticket",
            f"Repair {duplicate.reference} is {duplicate.status.value}: only an open report can be merged.",
        )
    if not main.is_open:
        raise TicketActionRefused(
            "main_closed",
            f"Repair {main.reference} is {main.status.value}: merge into an open ticket, or reopen it first.",
        )
    now = utcnow()
    was_emergency = is_emergency(main)
    brought_forward = _take_earlier_clocks(main, duplicate)
    newly_linked = _link_households(session, duplicate, main)

    current = duplicate.status
    duplicate.status = Status.MERGED
    duplicate.is_open = is_open(Status.MERGED)
    session.add(TicketMerge(duplicate_id=duplicate.id, main_id=main.id, created_at=now))
    duplicate.updated_at = now
    main.updated_at = now
    for appointment in duplicate.appointments:  # its booked visit's seat goes back
        if appointment.status == AppointmentStatus.BOOKED:
            appointment.status = AppointmentStatus.CANCELLED

    session.add(
        record_event(
            main,
            actor,
            "merged_from",
            data={
                "from": duplicate.reference,
                "summary": duplicate.summary,
                "households_linked": newly_linked,
                "brought_forward": brought_forward,
            },
        )
    )
    event = record_event(duplicate, actor, "merged_into", frm=current, to=Status.MERGED, data={"into": main.reference})
    session.add(event)
    # Told on the duplicate's own event: its resident and the households linked to it, once each.
    tell_residents(
        session,
        duplicate,
        event,
        "merged",
        f"Your repair {duplicate.reference} is the same job as {main.reference}, so we have joined them. "
        f"We will keep you updated under {main.reference}.",
        {"merged_into": main.reference},
    )
    session.flush()
    alert_if_raised(session, policy, main, was_emergency=was_emergency, telegram_chat=officer_alert_chat,
                    why=f"Raised to emergency: {duplicate.reference} was merged into it")


def _take_earlier_clocks(main: Ticket, duplicate: Ticket) -> list[str]:
    """The main ticket keeps whichever target and legal clock is earlier, and the more urgent priority."""
    changed: list[str] = []
    for name in CLOCKS:
        theirs: datetime | None = getattr(duplicate, name)
        ours: datetime | None = getattr(main, name)
        if theirs is not None and (ours is None or theirs < ours):
            setattr(main, name, theirs)
            changed.append(name)
    if duplicate.reported_at < main.reported_at:
        main.reported_at = duplicate.reported_at
        changed.append("reported_at")
    if URGENCY[duplicate.priority] < URGENCY[main.priority]:
        main.priority = duplicate.priority
        changed.append("priority")
    if duplicate.emergency and not main.emergency:
        main.emergency = True
        changed.append("emergency")
    if duplicate.awaab_applies and not main.awaab_applies:
        main.awaab_applies = True
        changed.append("awaab_applies")
        # The clocks came with the duplicate's hazard: the main ticket shows which one they are for.
        if duplicate.hazard is not None:
            main.hazard, main.hazard_group = duplicate.hazard, duplicate.hazard_group
            changed.append("hazard")
    elif main.hazard is None and duplicate.hazard is not None:
        main.hazard, main.hazard_group = duplicate.hazard, duplicate.hazard_group
        changed.append("hazard")
    if duplicate.vulnerable and not main.vulnerable:
        main.vulnerable = True
        changed.append("vulnerable")
    return changed


def _link_households(session: Session, duplicate: Ticket, main: Ticket) -> int:
    """Link the duplicate's resident, and the households linked to the duplicate, to the main ticket;
    returns how many were not already on it."""
    residents = [duplicate.resident_id] if duplicate.resident_id is not None else []
    residents += session.scalars(
        select(LinkedResident.resident_id).where(LinkedResident.ticket_id == duplicate.id).order_by(LinkedResident.id)
    )
    already = set(session.scalars(select(LinkedResident.resident_id).where(LinkedResident.ticket_id == main.id)))
    linked = 0
    for resident_id in dict.fromkeys(residents):
        if resident_id != main.resident_id and resident_id not in already:
            session.add(LinkedResident(ticket_id=main.id, resident_id=resident_id, via_ticket_id=duplicate.id))
            linked += 1
    return linked


def lock_pair(session: Session, duplicate_ref: str, main_ref: str) -> tuple[Ticket | None, Ticket | None]:
    """Both tickets, locked for the merge in id order (so two merges crossing each other cannot deadlock)."""
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.reference.in_([duplicate_ref, main_ref]))
        .options(selectinload(Ticket.appointments))
        .order_by(Ticket.id)
        .with_for_update()
    ).all()
    found = {t.reference: t for t in rows}
    return found.get(duplicate_ref), found.get(main_ref)


def linked_households(session: Session, ticket: Ticket) -> int:
    """How many other households hear this ticket's news."""
    return session.scalar(select(func.count(LinkedResident.id)).where(LinkedResident.ticket_id == ticket.id)) or 0
