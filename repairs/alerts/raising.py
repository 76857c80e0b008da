"""Raising the alert for a new emergency ticket, inside the transaction that creates the ticket.

Kept apart from the officers' actions (repairs/alerts/actions.py) so the ticket service can call it
without an import cycle. The group message carries what officers need to pick the job up (reference,
category, priority, block, the make-safe deadline) and nothing about the resident: the group is wider
than the officer who will open the ticket.
"""

from __future__ import annotations

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


def alert_text(policy: Policy, ticket: Ticket, block: str | None) -> str:
    now = utcnow()
    lines = [
        f"EMERGENCY repair {ticket.reference}",
        f"Category: {policy.category(ticket.category).name}",
        f"Priority: {ticket.priority.value}",
        f"Block: {block or 'not given'}",
    ]
    if ticket.make_safe_by is not None:
        lines.append(f"Make safe {policy.describe_deadline(ticket.make_safe_by, now)}")
    lines.append(f"Complete {policy.describe_deadline(ticket.due_at, now)}")
    return "\n".join(lines)


def raise_alert(
    session: Session, policy: Policy, ticket: Ticket, *, block: str | None, telegram_chat: str | None
) -> EmergencyAlert:
    """Record the alert (the workspace banner shows it until acknowledged) and, when the officers' group
    is configured, queue its message there. The alert's id makes the delivery key: sent once."""
    alert = EmergencyAlert(ticket_id=ticket.id, raised_at=ticket.reported_at or utcnow())
    session.add(alert)
    session.flush()
    if telegram_chat:
        enqueue_to_chat(
            session,
            delivery_key=f"alert:{alert.id}:telegram",
            channel="telegram",
            external_id=telegram_chat,
            kind=ALERT_KIND,
            text=alert_text(policy, ticket, block),
            data={"reference": ticket.reference, "alert_id": alert.id, "buttons": alert_buttons(alert.id)},
        )
    return alert
