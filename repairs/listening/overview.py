"""What the listening page and its CSV read: recent utterances, by filter, and who looked (the audit)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, defer, sessionmaker

from repairs.database import transaction, utcnow
from repairs.listening.models import ListeningView, Source, Theme, ThemeKind, Utterance, ViewAction

PERIODS = (7, 30, 90)
NOT_UNDERSTOOD_INTENTS = ("out_of_scope",)


@dataclass(frozen=True)
class Filter:
    days: int = 7
    source: Source | None = None
    not_understood: bool = False

    @classmethod
    def from_query(cls, days: str | None, source: str | None, not_understood: str | None) -> Filter:
        try:
            wanted = int(days or 7)
        except ValueError:
            wanted = 7
        chosen = wanted if wanted in PERIODS else 7
        try:
            src = Source(source) if source else None
        except ValueError:
            src = None
        return cls(days=chosen, source=src, not_understood=not_understood in ("1", "on", "true"))

    def describe(self) -> str:
        """For the audit trail: what was asked for, never what was shown."""
        return f"days={self.days} source={self.source.value if self.source else 'all'} nu={int(self.not_understood)}"

    def since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class Row:
    said_at: datetime
    source: str
    channel: str
    text: str
    intent: str | None
    category: str | None
    confidence: float | None
    fell_back: bool
    block: str | None
    estate: str | None
    dissatisfaction: float | None


def _query(f: Filter, now: datetime) -> Select[Utterance]:
    q = select(Utterance).where(Utterance.said_at >= f.since(now))
    if f.source is not None:
        q = q.where(Utterance.source == f.source)
    if f.not_understood:
        q = q.where(Utterance.fell_back.is_(True) | Utterance.intent.in_(NOT_UNDERSTOOD_INTENTS))
    return q


def _row(u: Utterance) -> Row:
    return Row(u.said_at, u.source.value, u.channel, u.text, u.intent, u.category, u.confidence, u.fell_back,
               u.block, u.estate, u.dissatisfaction)


def recent(session: Session, f: Filter, *, limit: int = 100, now: datetime | None = None) -> tuple[list[Row], int]:
    now = now or utcnow()
    q = _query(f, now)
    total = int(session.scalar(select(func.count()).select_from(q.with_only_columns(Utterance.id).subquery())) or 0)
    rows = session.scalars(q.options(defer(Utterance.embedding))
                           .order_by(Utterance.said_at.desc(), Utterance.id.desc()).limit(limit)).all()
    return [_row(u) for u in rows], total


def stream(factory: sessionmaker[Session], f: Filter, *, batch: int = 1000) -> Iterator[Row]:
    """Every row the filter matches, oldest first, read in batches by id (each its own short session)."""
    now = utcnow()
    after = 0
    while True:
        with transaction(factory) as session:
            rows = session.scalars(_query(f, now).options(defer(Utterance.embedding)).where(Utterance.id > after)
                                   .order_by(Utterance.id).limit(batch)).all()
            found = [(_row(u), u.id) for u in rows]
        if not found:
            return
        for row, _ in found:
            yield row
        after = found[-1][1]


def audit(session: Session, officer_id: int, action: ViewAction, detail: str) -> None:
    session.add(ListeningView(officer_id=officer_id, action=action, detail=detail[:200]))


@dataclass(frozen=True)
class ThemeView:
    id: int
    kind: str
    label: str
    size: int
    this_week: int
    weekly_before: float
    is_new: bool
    blocks: list[list[object]]
    examples: list[str]
    computed_at: datetime
    answered_at: datetime | None
    answer: str | None

    @property
    def trend(self) -> str:
        if self.is_new:
            return "new this week"
        if self.weekly_before <= 0:
            return f"{self.this_week} this week"
        change = (self.this_week - self.weekly_before) / self.weekly_before
        return f"{self.this_week} this week against {self.weekly_before:.1f} a week before ({change:+.0%})"


def themes(session: Session, kind: ThemeKind, *, limit: int = 20) -> list[ThemeView]:
    """The last run's themes, new and fast-growing first (the job stored them in that order), then answered."""
    rows = session.scalars(select(Theme).where(Theme.kind == kind)
                           .order_by(Theme.answered_at.is_not(None), Theme.id).limit(limit)).all()
    return [ThemeView(t.id, t.kind.value, t.label, t.size, t.this_week, t.weekly_before, t.is_new,
                      list(t.blocks or []), list(t.examples or []), t.computed_at, t.answered_at, t.answer)
            for t in rows]




@dataclass(frozen=True)
class Dissatisfaction:
    scored: int
    dissatisfied: int
    by_category: list[tuple[str, int]]


def dissatisfaction(session: Session, f: Filter, *, now: datetime | None = None) -> Dissatisfaction:
    """The slot the dissatisfaction classifier fills: how many messages in the period it scored, how many
    expressed dissatisfaction, and about what. All zero until something writes `Utterance.dissatisfaction`."""
    # Imported here, on the listening page's first view: the threshold comes with the whole model (NumPy and its
    # weights, about 12 MB), which no other request in a repairs worker needs.
    from repairs_dissatisfaction.scoring import dissatisfaction_threshold

    now = now or utcnow()
    since = Utterance.said_at >= f.since(now)
    scored = int(session.scalar(select(func.count()).select_from(Utterance).where(
        since, Utterance.dissatisfaction.is_not(None))) or 0)
    unhappy = Utterance.dissatisfaction >= dissatisfaction_threshold()
    rows = session.execute(select(func.coalesce(Utterance.category, "none"), func.count())
                           .where(since, unhappy).group_by(Utterance.category)
                           .order_by(func.count().desc()).limit(8)).all() if scored else []
    return Dissatisfaction(scored, sum(int(n) for _, n in rows), [(str(c), int(n)) for c, n in rows])
