"""Announcements for officers over HTTP: post one (with an Idempotency-Key), preview who it reaches,
list the blocks and estates, and read the record of past ones."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.orm import Session

from repairs.announcements import service
from repairs.announcements.models import Announcement, AnnouncementKind, AreaKind
from repairs.auth.dependencies import ContextDep, OfficerDep
from repairs.auth.models import Officer
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.idempotency.service import request_fingerprint, run_once, validate_key
from repairs.problems import Problem
from repairs.schemas import BlockText, LongText

router = APIRouter(prefix="/api/v1/officer/announcements", tags=["announcements"])
log = logging.getLogger(__name__)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=400)]
AnnouncementText = Annotated[LongText, StringConstraints(max_length=1000)]
AreaName = Annotated[BlockText, StringConstraints(min_length=1)]


class AnnouncementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: AnnouncementKind
    area_kind: AreaKind
    area: AreaName
    text: AnnouncementText


class AnnouncementOut(BaseModel):
    id: int
    kind: AnnouncementKind
    area_kind: AreaKind
    area: str
    text: str
    households: int
    recipients: int
    officer_id: int
    officer_name: str | None
    created_at: datetime


class AnnouncementPage(BaseModel):
    items: list[AnnouncementOut]
    next_cursor: str | None


class ReachOut(BaseModel):
    area_kind: AreaKind
    area: str
    homes: int
    households: int
    residents: int


class AreasOut(BaseModel):
    blocks: list[str]
    estates: list[str]


def announcement_out(item: Announcement, officer_name: str | None) -> AnnouncementOut:
    return AnnouncementOut(
        id=item.id,
        kind=item.kind,
        area_kind=item.area_kind,
        area=item.area,
        text=item.text,
        households=item.households,
        recipients=item.recipients,
        officer_id=item.officer_id,
        officer_name=officer_name,
        created_at=item.created_at,
    )


def local_today(ctx: ServiceContext) -> date:
    """Today where the homes are: a tenancy ending today still counts until midnight there."""
    return utcnow().astimezone(ctx.policy.calendar.tz).date()


def _unknown_area(area_kind: AreaKind, area: str) -> Problem:
    return Problem(422, "unknown_area", "No such area", f"No home we know of is in the {area_kind.value} '{area}'.")


def post_announcement(
    ctx: ServiceContext, *, officer_id: int, officer_name: str | None, body: AnnouncementCreate, key: str
) -> tuple[int, dict[str, object], bool]:
    """Shared with the workspace form: one announcement per (officer, key), however often it is sent."""

    def create(session: Session) -> tuple[int, dict[str, object]]:
        try:
            item = service.post(
                session,
                officer_id=officer_id,
                kind=body.kind,
                area_kind=body.area_kind,
                area=body.area,
                text=body.text,
                council_name=ctx.settings.council_name,
                today=local_today(ctx),
            )
        except service.UnknownArea:
            raise _unknown_area(body.area_kind, body.area) from None
        return 201, announcement_out(item, officer_name).model_dump(mode="json")

    outcome = run_once(
        ctx.sessions,
        principal=f"officer:{officer_id}",
        key=key,
        fingerprint=request_fingerprint({"announcement": body.model_dump(mode="json")}),
        create=create,
    )
    # Counts and ids only: never the text.
    log.info(
        "announcement posted" if not outcome.replayed else "announcement post replayed",
        extra={"announcement_id": outcome.body.get("id"), "recipients": outcome.body.get("recipients"),
               "officer_id": officer_id},
    )
    return outcome.status_code, outcome.body, outcome.replayed


@router.post("", status_code=201, response_model=AnnouncementOut, summary="Post planned works or an outage")
def create(
    body: AnnouncementCreate, principal: OfficerDep, ctx: ContextDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    key = validate_key(idempotency_key)
    assert principal.officer_id is not None
    with transaction(ctx.sessions) as session:
        officer = session.get(Officer, principal.officer_id)
        name = officer.name if officer is not None else None
    status_code, payload, replayed = post_announcement(
        ctx, officer_id=principal.officer_id, officer_name=name, body=body, key=key
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(payload, status_code=status_code, headers=headers)


@router.get("", response_model=AnnouncementPage, summary="Past announcements, newest first")
def list_announcements(
    _officer: OfficerDep,
    ctx: ContextDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]{1,10}$")] = None,
) -> AnnouncementPage:
    with transaction(ctx.sessions) as session:
        # Clamped: a cursor past the largest id the column holds means "from the newest" (no overflow).
        rows = service.history(session, limit=limit + 1, before_id=min(int(cursor), 2**31 - 1) if cursor else None)
    items = [announcement_out(a, name) for a, name in rows[:limit]]
    return AnnouncementPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.get("/preview", response_model=ReachOut, summary="How many households an announcement would reach")
def preview(
    _officer: OfficerDep,
    ctx: ContextDep,
    area_kind: AreaKind,
    area: Annotated[str, Query(min_length=1, max_length=100)],
) -> ReachOut:
    with transaction(ctx.sessions) as session:
        found = service.reach(session, area_kind, area, today=local_today(ctx))
    if found.homes == 0:
        raise _unknown_area(area_kind, area)
    return ReachOut(area_kind=area_kind, area=area, **found.__dict__)


@router.get("/areas", response_model=AreasOut, summary="The blocks and estates homes are in")
def list_areas(_officer: OfficerDep, ctx: ContextDep) -> AreasOut:
    with transaction(ctx.sessions) as session:
        found = service.areas(session)
    return AreasOut(blocks=found[AreaKind.BLOCK], estates=found[AreaKind.ESTATE])
