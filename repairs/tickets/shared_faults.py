"""Shared faults: a communal fault (a lift, stair lighting, door entry, a bin chute) that already has an open
ticket for the block is not reported twice. The assistant offers "me too"; the resident's household is linked to
the existing ticket (a LinkedResident row), so officers see how many households are affected and every one of
them hears the ticket's news (service.tell_residents).

What a resident learns about a ticket that is not theirs is only the fault itself: its reference, what is
broken, where and how far along it is. Never who reported it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from repairs.residents.models import Property, Resident, Tenancy
from repairs.tickets.models import LinkedResident, LocationType, Ticket
from repairs.tickets.service import Actor, record_event

OFFERED = 3  # at most this many open faults offered for one report


@dataclass(frozen=True)
class Household:
    resident_id: int
    block: str | None


def household(session: Session, resident_id: int) -> Household:
    block = session.scalar(
        select(Property.block)
        .join(Tenancy, Tenancy.property_id == Property.id)
        .join(Resident, Resident.tenancy_id == Tenancy.id)
        .where(Resident.id == resident_id)
    )
    return Household(resident_id, block)


def households_affected(session: Session, ticket: Ticket) -> int:
    """The reporting household and every household linked to the ticket since."""
    linked = session.scalar(
        select(func.count()).select_from(LinkedResident).where(
            LinkedResident.ticket_id == ticket.id,
            LinkedResident.resident_id != func.coalesce(ticket.resident_id, -1),
        )
    )
    return (1 if ticket.resident_id is not None else 0) + int(linked or 0)


def open_faults(session: Session, home: Household, category: str) -> list[Ticket]:
    """Open tickets for a shared part of the resident's block in this category, oldest first."""
    if not home.block:
        return []
    return list(session.scalars(
        select(Ticket)
        .where(
            Ticket.is_open.is_(True),
            Ticket.block == home.block,
            Ticket.category == category,
            Ticket.location_type == LocationType.COMMUNAL,
        )
        .order_by(Ticket.reported_at, Ticket.id)
        .limit(OFFERED)
    ))


def shared_fault(session: Session, home: Household, reference: str, *, lock: bool = False) -> Ticket | None:
    """The open communal ticket `reference` in the resident's block, or None (not found, not shared, or
    another block's: all look the same to the resident)."""
    if not home.block:
        return None
    query = select(Ticket).where(
        Ticket.reference == reference,
        Ticket.is_open.is_(True),
        Ticket.block == home.block,
        Ticket.location_type == LocationType.COMMUNAL,
    )
    return session.scalar(query.with_for_update() if lock else query)


def me_too(session: Session, ticket: Ticket, home: Household) -> bool:
    """Link the household to the ticket; True when it was not linked before (saying it twice changes nothing)."""
    if ticket.resident_id == home.resident_id:
        return False
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new_id = session.scalar(
        insert(LinkedResident)
        .values(ticket_id=ticket.id, resident_id=home.resident_id)
        .on_conflict_do_nothing(index_elements=["ticket_id", "resident_id"])
        .returning(LinkedResident.id)
    )
    if new_id is None:
        return False
    # The audit trail says a household joined, not who: the resident is on the link row.
    session.add(record_event(ticket, Actor("resident", str(home.resident_id)), "household_affected",
                             data={"households": households_affected(session, ticket)}))
    session.flush()
    return True
