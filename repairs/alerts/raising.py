"""Raising the officers' alert for an emergency ticket, inside the transaction that makes it one.

A ticket becomes an emergency when it is created as one (service.create_ticket) or later, when a change
raises its priority (today: merging an emergency duplicate into it, tickets/merging.py). Both raise the
same alert. Each ticket has at most one alert, ever: the unique ticket id on `emergency_alerts` decides,
so two replicas raising it at once make one row and one group message. A ticket that was lowered and
raised again keeps its first alert (still on the banner until someone acknowledges it) rather than
alerting twice: the alert asks "has someone picked this emergency up?", and that is answered once.

Kept apart from the officers' actions (repairs/alerts/actions.py) so the ticket service can call it
without an import cycle. The group message carries what officers need to pick the job up (reference,
category, priority, block, the make-safe deadline) and nothing about the resident: the group is wider
than the officer who will open the ticket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from repairs.alerts.models import EmergencyAlert
from repairs.database import utcnow
from repairs.notifications.outbox import enqueue_to_chat
from repairs.policy.engine import Policy
from repairs.tickets.models import Priority, Ticket

ALERT_KIND = "officer_alert"
# Callback data the bot passes back untouched (see bot/telegram/rendering.py): "o|<action>:<alert id>".
OFFICER_BUTTON = "o|"
ACKNOWLEDGE, ASSIGN = "ack", "assign"


def is_emergency(ticket: Ticket) -> bool:
    return ticket.emergency or ticket.priority == Priority.EMERGENCY


def alert_buttons(alert_id: int) -> list[dict[str, str]]:
    return [
        {"title": "Acknowledge", "payload": f"{OFFICER_BUTTON}{ACKNOWLEDGE}:{alert_id}"},
        {"title": "Assign to me", "payload": f"{OFFICER_BUTTON}{ASSIGN}:{alert_id}"},
    ]


def alert_text(policy: Policy, ticket: Ticket, block: str | None, *, why: str | None = None) -> str:
    now = utcnow()
    lines = [
        f"EMERGENCY repair {ticket.reference}",
        f"Category: {policy.category(ticket.category).name}",
        f"Priority: {ticket.priority.value}",
        f"Block: {block or 'not given'}",
    ]
    if why:
        lines.append(why)
    if ticket.make_safe_by is not None:
        lines.append(f"Make safe {policy.describe_deadline(ticket.make_safe_by, now)}")
    lines.append(f"Complete {policy.describe_deadline(ticket.due_at, now)}")
    return "\n".join(lines)


def raise_alert(
    session: Session,
    policy: Policy,
    ticket: Ticket,
    *,
    block: str | None,
    telegram_chat: str | None,
    raised_at: datetime | None = None,
    why: str | None = None,
) -> int | None:
    """Record the alert (the workspace banner shows it until acknowledged) and, when the officers' group
    is configured, queue its message there; the alert's id makes the delivery key, so it is sent once.
    Returns the new alert's id, or None when the ticket already has an alert (nothing is queued then)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.flush()  # the ticket's row (and id) must exist before the alert points at it
    alert_id = session.scalar(
        insert(EmergencyAlert)
        .values(ticket_id=ticket.id, raised_at=raised_at or ticket.reported_at or utcnow())
        .on_conflict_do_nothing(index_elements=["ticket_id"])
        .returning(EmergencyAlert.id)
    )
    if alert_id is None:
        return None
    if telegram_chat:
        enqueue_to_chat(
            session,
            delivery_key=f"alert:{alert_id}:telegram",  # group_message.alert_delivery_key
            channel="telegram",
            external_id=telegram_chat,
            kind=ALERT_KIND,
            text=alert_text(policy, ticket, block, why=why),
            data={"reference": ticket.reference, "alert_id": alert_id, "buttons": alert_buttons(alert_id)},
        )
    return alert_id


def alert_if_raised(
    session: Session, policy: Policy, ticket: Ticket, *, was_emergency: bool, telegram_chat: str | None, why: str
) -> int | None:
    """After a change to an existing ticket: raise the alert when the change made it an emergency.
    Every path that changes a ticket's priority or emergency flag calls this with what it was before."""
    if was_emergency or not is_emergency(ticket):
        return None
    block = ticket.block or (ticket.property.block if ticket.property is not None else None)
    return raise_alert(session, policy, ticket, block=block, telegram_chat=telegram_chat, raised_at=utcnow(), why=why)
