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


def enqueue_to_chat(
    session: Session,
    *,
    delivery_key: str,
    channel: str,
    external_id: str,
    kind: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> Notification:
    """Queue a message for a fixed chat that is not a resident's (the officers' Telegram group). It has no
    ticket id on purpose: a resident's updates on the same ticket never wait behind it."""
    note = Notification(
        delivery_key=delivery_key,
        resident_id=None,
        ticket_id=None,
        channel=channel,
        external_id=external_id,
        kind=kind,
        payload={"text": text, **(data or {})},
    )
    session.add(note)
    return note
