"""Hotspots: a block with more reports of one kind this week than its own history and its size predict.

Counted in people, not messages (a resident who says it three times counts once: their chat's key, or the
post itself for imported ones). Expected this week: the block's own weekly average over the weeks before,
or what a block of its size sees across the estate, whichever is higher (and at least half a report). A
block is a hotspot when at least `MIN_REPORTS` people raised it and that is `RATIO` times the expectation.
Damp and mould in one block is the Awaab's Law case: the page suggests inspecting the whole block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, distinct, func, select
from sqlalchemy.orm import Session

from repairs.listening.models import SavedHotspot, Utterance
from repairs.residents.models import Property

HISTORY_WEEKS = 4
MIN_REPORTS = 3
RATIO = 3.0
PROACTIVE = {"damp_mould": "Suggest a proactive inspection of every home in the block (Awaab's Law)."}


@dataclass(frozen=True)
class Hotspot:
    block: str
    estate: str | None
    category: str
    this_week: int
    expected: float
    homes: int
    suggestion: str | None

    @property
    def ratio(self) -> float:
        return self.this_week / self.expected


def find_hotspots(session: Session, *, now: datetime) -> list[Hotspot]:
    week_start = now - timedelta(days=7)
    since = week_start - timedelta(weeks=HISTORY_WEEKS)
    person = func.coalesce(Utterance.sender_hash, func.cast(Utterance.id, Utterance.sender_hash.type))
    recent = Utterance.said_at >= week_start
    rows = session.execute(
        select(Utterance.block, Utterance.category,
               func.count(distinct(case((recent, person)))),
               func.count(distinct(case((~recent, person)))),
               func.max(Utterance.estate))
        .where(Utterance.said_at >= since, Utterance.block.is_not(None), Utterance.category.is_not(None))
        .group_by(Utterance.block, Utterance.category)
    ).all()
    if not rows:
        return []
    homes = dict(session.execute(select(Property.block, func.count()).where(Property.block.is_not(None))
                                 .group_by(Property.block)).all())
    all_homes = max(sum(homes.values()), 1)
    history_by_category: dict[str, int] = {}
    for _block, category, _now_count, before, _estate in rows:
        history_by_category[str(category)] = history_by_category.get(str(category), 0) + before
    found = []
    for block_name, category_code, this_week, before, estate in rows:
        block, category = str(block_name), str(category_code)
        size = int(homes.get(block, 0))
        own = before / HISTORY_WEEKS
        typical = history_by_category[category] / HISTORY_WEEKS / all_homes * size
        expected = max(own, typical, 0.5)
        if this_week >= MIN_REPORTS and this_week >= RATIO * expected:
            found.append(Hotspot(block, estate, category, int(this_week), expected, size, PROACTIVE.get(category)))
    return sorted(found, key=lambda h: (-h.ratio, -h.this_week))


def refresh(session: Session, *, now: datetime) -> list[Hotspot]:
    """Find the hotspots and keep them for the page (the themes job calls this)."""
    found = find_hotspots(session, now=now)
    session.execute(delete(SavedHotspot))
    session.add_all([SavedHotspot(block=h.block[:100], estate=h.estate, category=h.category, this_week=h.this_week,
                                  expected=h.expected, homes=h.homes, suggestion=h.suggestion, computed_at=now)
                     for h in found])
    return found


def saved(session: Session) -> list[Hotspot]:
    rows = session.scalars(select(SavedHotspot).order_by(SavedHotspot.id)).all()
    return [Hotspot(r.block, r.estate, r.category, r.this_week, r.expected, r.homes, r.suggestion) for r in rows]
