"""Jobs that keep tickets honest over time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.policy.engine import Policy
from repairs.tickets.models import Status, Ticket
from repairs.tickets.service import Actor, change_status


def close_unconfirmed(session: Session, policy: Policy, *, days: int = 14, batch: int = 500) -> int:
    """Completed repairs the resident has not answered about within `days` become closed
    ("closed" means confirmed or timed out; "completed" only means the work was done)."""
    cutoff = utcnow() - timedelta(days=days)
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status == Status.COMPLETED, Ticket.completed_at < cutoff)
        .order_by(Ticket.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in tickets:
        change_status(
            session,
            policy,
            ticket,
            Status.CLOSED,
            actor=Actor("system", "close-completed"),
            note=f"No answer from the resident within {days} days",
            notify=False,
        )
    return len(tickets)
