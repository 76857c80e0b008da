"""Writing to the notifications outbox, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from repairs.notifications.models import Notification


def enqueue(
    session: Session,
    *,
    delivery_key: str,
    resident_id: int | None,
    ticket_id: int | None,
    kind: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> Notification | None:
    """Queue a message for a resident. Nothing is queued for tickets with no resident to tell
    (Open311 reports from the public are answered through Open311 itself)."""
    if resident_id is None:
        return None
    note = Notification(
        delivery_key=delivery_key,
        resident_id=resident_id,
        ticket_id=ticket_id,
        kind=kind,
        payload={"text": text, **(data or {})},
    )
    session.add(note)
    return note
