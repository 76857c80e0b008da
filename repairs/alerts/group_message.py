"""Keeping the alert's message in the officers' Telegram group true when the alert is taken elsewhere.

A tap in the group edits its own message (the bot does that at once). An officer who acknowledges or takes
the job in the workspace or through the API leaves the group looking at "Acknowledge" and "Assign to me",
as if nobody had it: so the same change queues an edit of that message through the outbox, with buttons
that say who has it. The bot reports the id of the message it sent (POST /api/v1/outbox/{id}/sent), kept
on the alert's outbox row; an alert whose message is not out yet needs no edit, and a tap on its stale
buttons is answered with who has it and corrects them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairs.alerts.models import EmergencyAlert
from repairs.alerts.raising import ACKNOWLEDGE, ASSIGN, OFFICER_BUTTON
from repairs.notifications.models import Notification
from repairs.notifications.outbox import enqueue_to_chat

UPDATE_KIND = "officer_alert_update"


def alert_delivery_key(alert_id: int) -> str:
    return f"alert:{alert_id}:telegram"


def state_buttons(alert_id: int, *, acknowledged_by: str | None, assigned_to: str | None) -> list[dict[str, str]]:
    """Who has it, as buttons: a tap on one is answered with the same (the alert's own actions say so)."""
    if assigned_to:
        return [{"title": f"✓ Assigned to {assigned_to}"[:64], "payload": f"{OFFICER_BUTTON}{ASSIGN}:{alert_id}"}]
    return [{"title": f"✓ Acknowledged by {acknowledged_by or 'an officer'}"[:64],
             "payload": f"{OFFICER_BUTTON}{ACKNOWLEDGE}:{alert_id}"},
            {"title": "Assign to me", "payload": f"{OFFICER_BUTTON}{ASSIGN}:{alert_id}"}]


def queue_update(session: Session, alert: EmergencyAlert, *, reference: str, state: str,
                 acknowledged_by: str | None, assigned_to: str | None) -> Notification | None:
    """Queue the edit of the group's alert message for `state` ("acknowledged" or "assigned"); None when
    there is nothing to edit (no group, the message not sent yet) or that state's edit is queued already."""
    original = session.scalar(select(Notification).where(Notification.delivery_key == alert_delivery_key(alert.id)))
    message_id = (original.payload or {}).get("message_id") if original is not None else None
    if original is None or original.external_id is None or not message_id:
        return None
    key = f"{alert_delivery_key(alert.id)}:{state}"
    if session.scalar(select(Notification.id).where(Notification.delivery_key == key)) is not None:
        return None
    return enqueue_to_chat(
        session,
        delivery_key=key,
        channel=original.channel or "telegram",
        external_id=original.external_id,
        kind=UPDATE_KIND,
        text="",
        data={"reference": reference, "alert_id": alert.id, "edit_message_id": str(message_id),
              "buttons": state_buttons(alert.id, acknowledged_by=acknowledged_by, assigned_to=assigned_to)},
    )
