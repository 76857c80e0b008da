"""The queue page: open tickets, soonest to breach first, with filters, a search, and keyset paging.

The tickets come from the same query as the JSON queue (repairs/tickets/queue.py). Filter values arrive
from a plain GET form, so an empty select means "any" and an unknown value is said plainly, not a 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from repairs_common.channels import RESIDENT_CHANNELS
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.concurrency import run_in_threadpool

from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.residents.models import Property
from repairs.tickets.models import Priority, Status
from repairs.tickets.queue import QueueEntry, QueueFilters, awaab_clock, queue_page
from repairs.tickets.schemas import decode_cursor, encode_cursor
from repairs.workspace.auth import CurrentOfficer
from repairs.workspace.formatting import local_time, time_left
from repairs.workspace.templating import render

router = APIRouter()

PAGE_SIZE = 50
MAX_SUGGESTIONS = 500
CHANNELS = (*RESIDENT_CHANNELS, "phone", "email", "open311", "api")
OPEN_STATUSES = (Status.REPORTED, Status.TRIAGED, Status.SCHEDULED, Status.IN_PROGRESS, Status.REOPENED)
FIELDS = ("priority", "category", "status", "block", "estate", "overdue", "vulnerable", "channel", "hazard", "q")
Context = Annotated[ServiceContext, Depends(get_context)]


@dataclass(frozen=True)
class Row:
    reference: str
    emergency: bool
    priority: str
    category: str
    summary: str
    status: str
    where: str
    postcode: str
    channel: str
    vulnerable: bool
    due_at: str
    due_text: str
    overdue: bool
    awaab: str | None
    hazard: str | None  # the hazard group's name, e.g. "Falls"
    hazard_detail: str | None  # the HHSRS hazard itself, e.g. "Falling between levels"
    # Shown only for a ticket other households are linked to (a shared fault): how many it affects.
    households: int | None


def _read_filters(request: Request, ctx: ServiceContext) -> tuple[QueueFilters, dict[str, str], list[str]]:
    """The filters asked for, the form's values to show again, and what could not be understood."""
    raw = {name: request.query_params.get(name, "").strip()[:100] for name in FIELDS}
    problems: list[str] = []

    def choice(name: str, allowed: tuple[str, ...], label: str) -> str | None:
        value = raw[name]
        if not value:
            return None
        if value not in allowed:
            problems.append(f"There is no {label} called “{value}”, so that filter is off.")
            raw[name] = ""
            return None
        return value

    priority = choice("priority", tuple(p.value for p in Priority), "priority")
    status = choice("status", tuple(s.value for s in OPEN_STATUSES), "open status")
    category = choice("category", tuple(ctx.policy.categories), "category")
    channel = choice("channel", CHANNELS, "channel")
    overdue = choice("overdue", ("yes", "no"), "deadline choice")
    vulnerable = choice("vulnerable", ("yes", "no"), "vulnerability choice")
    hazard = choice("hazard", tuple(ctx.policy.config.awaab.hazard_groups), "hazard group")
    filters = QueueFilters(
        priority=Priority(priority) if priority else None,
        category=category,
        status=Status(status) if status else None,
        block=raw["block"] or None,
        estate=raw["estate"] or None,
        overdue=None if overdue is None else overdue == "yes",
        vulnerable=None if vulnerable is None else vulnerable == "yes",
        channel=channel,
        hazard_group=hazard,
        q=raw["q"] or None,
    )
    return filters, raw, problems


def _row(entry: QueueEntry, ctx: ServiceContext, now: datetime) -> Row:
    t = entry.ticket
    clock = awaab_clock(t)
    awaab = None
    if clock is not None:
        name, moment = clock
        awaab = f"{name.capitalize()} by {local_time(moment)} ({time_left(moment, now)})"
    category = ctx.policy.categories.get(t.category)
    # The block's name is usually in the address already ("Flat 4, Alder House"); say it once.
    block = t.block if t.block and t.block not in (entry.address or "") else None
    where = ", ".join(p for p in (entry.address, block) if p)
    return Row(
        reference=t.reference,
        emergency=t.emergency or t.priority == Priority.EMERGENCY,
        priority=t.priority.value,
        category=category.name if category else t.category,
        summary=t.summary,
        status=t.status.value.replace("_", " "),
        where=where or "No address",
        postcode=entry.postcode or "",
        channel=t.channel,
        vulnerable=t.vulnerable,
        due_at=local_time(t.due_at),
        due_text=time_left(t.due_at, now),
        overdue=t.due_at < now,
        awaab=awaab,
        hazard=ctx.policy.hazard_group_name(t.hazard_group) if t.hazard_group else None,
        hazard_detail=ctx.policy.hazard_name(t.hazard) if t.hazard else None,
        households=entry.households_affected if entry.linked_households else None,
    )


@dataclass(frozen=True)
class Loaded:
    rows: list[Row]
    next_cursor: str | None
    blocks: list[str]
    estates: list[str]


def _names(session: Session, column: InstrumentedAttribute[str | None]) -> list[str]:
    """The block or estate names there are, for the filter's suggestions (the filter matches a name exactly,
    so offering the real ones saves a fruitless search). Read from the column's index."""
    query = select(column).where(column.is_not(None)).distinct().order_by(column).limit(MAX_SUGGESTIONS)
    return [name for name in session.scalars(query) if name]


def _load(ctx: ServiceContext, filters: QueueFilters, after: tuple[datetime, int] | None) -> Loaded:
    now = utcnow()
    with transaction(ctx.sessions) as session:
        page = queue_page(session, filters, now=now, limit=PAGE_SIZE, after=after)
        rows = [_row(entry, ctx, now) for entry in page.entries]
        blocks, estates = _names(session, Property.block), _names(session, Property.estate)
    next_cursor = encode_cursor(*page.next_key) if page.next_key else None
    return Loaded(rows=rows, next_cursor=next_cursor, blocks=blocks, estates=estates)


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, officer: CurrentOfficer, ctx: Context) -> Response:
    filters, values, problems = _read_filters(request, ctx)
    after = None
    cursor = request.query_params.get("after", "")
    if cursor:
        after = decode_cursor(cursor[:200])
        if after is None:
            problems.append("That page link was not valid, so this is the first page.")
    loaded = await run_in_threadpool(_load, ctx, filters, after)
    rows, next_cursor = loaded.rows, loaded.next_cursor
    kept = {k: v for k, v in values.items() if v}
    next_url = f"/officer/queue?{urlencode({**kept, 'after': next_cursor})}" if next_cursor else None
    first_url = f"/officer/queue?{urlencode(kept)}" if after is not None else None
    return await render(
        request,
        "queue.html",
        officer,
        rows=rows,
        values=values,
        problems=problems,
        filtered=bool(kept),
        next_url=next_url,
        first_url=first_url,
        priorities=[(p.value, p.value.capitalize()) for p in Priority],
        statuses=[(s.value, s.value.replace("_", " ")) for s in OPEN_STATUSES],
        categories=[(c.code, c.name) for c in ctx.policy.categories.values()],
        channels=[(c, c) for c in CHANNELS],
        hazard_groups=[(code, ctx.policy.hazard_group_name(code)) for code in ctx.policy.config.awaab.hazard_groups],
        page_size=PAGE_SIZE,
        blocks=loaded.blocks,
        estates=loaded.estates,
    )
