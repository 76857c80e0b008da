"""Shared faults for the assistant: open communal faults in the resident's block, and "me too"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from repairs.auth.dependencies import ContextDep, ResidentDep
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.problems import Problem
from repairs.tickets import shared_faults
from repairs.tickets.models import Ticket
from repairs.tickets.presenters import STATUS_TEXT
from repairs.tickets.references import normalise_reference

router = APIRouter(prefix="/api/v1", tags=["shared faults"])


class SharedFaultOut(BaseModel):
    reference: str
    category: str
    summary: str
    location: str | None
    status_text: str
    reported_at: datetime
    due_text: str
    households: int


class SharedFaultPage(BaseModel):
    items: list[SharedFaultOut]


class MeTooOut(SharedFaultOut):
    linked: bool  # False when this household was already linked (or reported it)


def _out(session: Session, ticket: Ticket, ctx: ServiceContext) -> dict[str, object]:
    return {
        "reference": ticket.reference,
        "category": ticket.category,
        "summary": ticket.summary,
        "location": ticket.location,
        "status_text": STATUS_TEXT[ticket.status],
        "reported_at": ticket.reported_at,
        "due_text": ctx.policy.describe_deadline(ticket.due_at, utcnow()),
        "households": shared_faults.households_affected(session, ticket),
    }


@router.get("/shared-faults", response_model=SharedFaultPage,
            summary="Open faults in a shared part of the resident's block, in one category")
def list_shared_faults(
    actor: ResidentDep, ctx: ContextDep, category: Annotated[str, Query(min_length=1, max_length=30)]
) -> SharedFaultPage:
    with transaction(ctx.sessions) as session:
        home = shared_faults.household(session, actor.resident_id)
        items = [SharedFaultOut.model_validate(_out(session, t, ctx))
                 for t in shared_faults.open_faults(session, home, category)]
    return SharedFaultPage(items=items)


@router.post("/shared-faults/{reference}/me-too", response_model=MeTooOut,
             summary="This household is affected too: link it to the open communal fault")
def me_too(reference: str, actor: ResidentDep, ctx: ContextDep) -> MeTooOut:
    ref = normalise_reference(reference)
    with transaction(ctx.sessions) as session:
        home = shared_faults.household(session, actor.resident_id)
        ticket = shared_faults.shared_fault(session, home, ref, lock=True) if ref else None
        if ticket is None:
            raise Problem(404, "not_found", "No open shared fault with that reference in your block")
        linked = shared_faults.me_too(session, ticket, home)
        return MeTooOut.model_validate({**_out(session, ticket, ctx), "linked": linked})
