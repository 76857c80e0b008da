"""Deliveries as officers see them: messages that did not reach the resident, and a way to try again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from repairs.auth.dependencies import ContextDep, OfficerDep, PrincipalDep
from repairs.database import transaction
from repairs.notifications import delivery
from repairs.notifications.models import Notification, OutboxStatus
from repairs.problems import Problem
from repairs.tickets.models import Ticket
from repairs.tickets.service import Actor, record_event

router = APIRouter(prefix="/api/v1/officer/deliveries", tags=["officer"])


class DeliveryOut(BaseModel):
    id: int
    reference: str | None
    kind: str
    status: OutboxStatus
    channel: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def _out(note: Notification, reference: str | None) -> DeliveryOut:
    # No message text and no chat id: the list is about whether messages arrive, not what they said.
    return DeliveryOut(
        id=note.id,
        reference=reference,
        kind=note.kind,
        status=note.status,
        channel=note.channel,
        attempts=note.attempts,
        last_error=note.last_error,
        created_at=note.created_at,
        next_attempt_at=note.next_attempt_at,
        sent_at=note.sent_at,
    )


@router.get("", response_model=DeliveryPage, summary="Messages to residents by delivery state, newest first")
def list_deliveries(
    _principal: PrincipalDep,
    ctx: ContextDep,
    status: OutboxStatus = OutboxStatus.FAILED,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]{1,10}$")] = None,
) -> DeliveryPage:
    with transaction(ctx.sessions) as session:
        rows = delivery.list_deliveries(
            # Clamped: a cursor past the largest id the column holds means "from the newest" (no overflow).
            session, status=status, limit=limit + 1, before_id=min(int(cursor), 2**31 - 1) if cursor else None
        )
    items = [_out(note, reference) for note, reference in rows[:limit]]
    next_cursor = str(items[-1].id) if len(rows) > limit else None
    return DeliveryPage(items=items, next_cursor=next_cursor)


@router.post("/{note_id}/retry", response_model=DeliveryOut, summary="Send a failed message again")
def retry(
    note_id: Annotated[int, Path(ge=1, le=2**31 - 1)], officer: OfficerDep, ctx: ContextDep
) -> DeliveryOut:
    with transaction(ctx.sessions) as session:
        try:
            outcome = delivery.retry(session, note_id)
        except delivery.AlreadySent:
            raise Problem(409, "already_sent", "Already delivered", "The resident already has this message.") from None
        if outcome is None:
            raise Problem(404, "not_found", "Delivery not found")
        note, requeued = outcome
        ticket = session.get(Ticket, note.ticket_id) if note.ticket_id is not None else None
        if ticket is not None and requeued:
            # The audit trail says who sent a message again, beside the change it announced.
            session.add(
                record_event(
                    ticket, Actor("officer", str(officer.officer_id)), "delivery_retried", data={"delivery": note.id}
                )
            )
        return _out(note, ticket.reference if ticket else None)
