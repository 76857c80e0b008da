"""Posting an announcement: one outbox row per reachable resident in the block or estate, written in the
same transaction as the record of the announcement.

Each row's delivery key is the announcement's id and the resident's, so delivery sends it once however
often it retries; the create itself runs under the caller's Idempotency-Key, so a retried post makes no
second announcement. The bot's delivery worker paces the sends within Telegram's limits; web chat
residents collect theirs when their page next asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from repairs.announcements.models import Announcement, AnnouncementKind, AreaKind
from repairs.auth.models import Officer
from repairs.notifications.models import Notification
from repairs.residents.models import ChannelIdentity, Property, Resident, Tenancy

NOTIFICATION_KIND = "announcement"
KIND_TITLES = {AnnouncementKind.PLANNED_WORKS: "Planned works", AnnouncementKind.OUTAGE: "Service outage"}


class UnknownArea(Exception):
    """No home we know of is in that block or estate (most likely a typing slip)."""


@dataclass(frozen=True)
class Reach:
    homes: int  # homes in the area
    households: int  # of those, homes where someone is reachable on a chat
    residents: int  # residents who will be messaged


def _in_area(area_kind: AreaKind, area: str) -> ColumnElement[bool]:
    column = Property.block if area_kind == AreaKind.BLOCK else Property.estate
    return column == area


def _reachable(today: date) -> tuple[ColumnElement[bool], ...]:
    """A resident of a current tenancy with at least one linked chat."""
    return (
        or_(Tenancy.end_date.is_(None), Tenancy.end_date >= today),
        exists().where(ChannelIdentity.resident_id == Resident.id),
    )


def _recipients(session: Session, area_kind: AreaKind, area: str, today: date) -> list[tuple[int, int]]:
    return [
        (resident_id, property_id)
        for resident_id, property_id in session.execute(
            select(Resident.id, Tenancy.property_id)
            .join(Tenancy, Tenancy.id == Resident.tenancy_id)
            .join(Property, Property.id == Tenancy.property_id)
            .where(_in_area(area_kind, area), *_reachable(today))
            .order_by(Resident.id)
        ).all()
    ]


def reach(session: Session, area_kind: AreaKind, area: str, *, today: date) -> Reach:
    homes = session.scalar(select(func.count()).select_from(Property).where(_in_area(area_kind, area))) or 0
    people = _recipients(session, area_kind, area, today)
    return Reach(homes=homes, households=len({p for _, p in people}), residents=len(people))


def areas(session: Session) -> dict[AreaKind, list[str]]:
    """The blocks and estates homes are in, for the form's choices."""
    found: dict[AreaKind, list[str]] = {}
    for kind, column in ((AreaKind.BLOCK, Property.block), (AreaKind.ESTATE, Property.estate)):
        found[kind] = list(session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column)))
    return found


def message_text(kind: AnnouncementKind, area: str, text: str, council_name: str) -> str:
    return f"{KIND_TITLES[kind]} at {area}\n\n{text.strip()}\n\n{council_name} repairs team"


def post(
    session: Session,
    *,
    officer_id: int,
    kind: AnnouncementKind,
    area_kind: AreaKind,
    area: str,
    text: str,
    council_name: str,
    today: date,
) -> Announcement:
    if not session.scalar(select(exists().where(_in_area(area_kind, area)))):
        raise UnknownArea(area)
    people = _recipients(session, area_kind, area, today)
    announcement = Announcement(
        officer_id=officer_id,
        kind=kind,
        area_kind=area_kind,
        area=area,
        text=text.strip(),
        households=len({p for _, p in people}),
        recipients=len(people),
    )
    session.add(announcement)
    session.flush()
    body = message_text(kind, area, text, council_name)
    if people:
        # One INSERT for the lot: an estate can be thousands of residents.
        session.execute(
            insert(Notification),
            [
                {
                    "delivery_key": f"announcement:{announcement.id}:resident:{resident_id}",
                    "resident_id": resident_id,
                    "ticket_id": None,
                    "kind": NOTIFICATION_KIND,
                    "payload": {"text": body, "announcement_id": announcement.id},
                }
                for resident_id, _ in people
            ],
        )
    return announcement


def history(
    session: Session, *, limit: int, before_id: int | None = None
) -> list[tuple[Announcement, str | None]]:
    """Past announcements, newest first, with the name of the officer who posted each."""
    query = (
        select(Announcement, Officer.name)
        .outerjoin(Officer, Officer.id == Announcement.officer_id)
        .order_by(Announcement.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Announcement.id < before_id)
    return [(a, name) for a, name in session.execute(query).all()]
