"""The repairs figures for a period, each from one aggregate query.

Two sets of tickets are counted, and each figure says which it uses:
- *reported* in the period (`reported_at` inside it): volumes by category, channel and week, and reopens,
  read from the UK day counts kept as tickets change (`day_counts`), or from the tickets for another zone;
- *completed* in the period (`completed_at` inside it): the RP02 measure and the time taken.

RP02 (Tenant Satisfaction Measures): the share of repairs completed within the landlord's target timescale,
emergency and non-emergency apart, over the repairs completed in the period; a cancelled repair is never
completed, so it is in neither count. A reopened repair gets a fresh target and loses its completion until
it is finished again, so it counts once, against the target it was last finished under.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from repairs.reports import day_counts
from repairs.reports.period import Period
from repairs.tickets.models import Priority, Status, Ticket

PRIORITIES = (Priority.EMERGENCY, Priority.URGENT, Priority.ROUTINE)


@dataclass(frozen=True)
class Share:
    """`part` of `whole`, e.g. repairs on time out of repairs completed."""

    part: int
    whole: int

    @property
    def ratio(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def percent(self) -> str:
        return "no repairs" if self.ratio is None else f"{self.ratio * 100:.1f}%"


@dataclass(frozen=True)
class Completions:
    """Repairs completed in the period: RP02 and how long they took (calendar time, report to completion)."""

    on_time: Mapping[Priority, Share]
    median_seconds: Mapping[Priority, float | None]
    median_all_seconds: float | None

    @property
    def emergency(self) -> Share:
        return self.on_time[Priority.EMERGENCY]

    @property
    def non_emergency(self) -> Share:
        shares = [self.on_time[p] for p in PRIORITIES if p is not Priority.EMERGENCY]
        return Share(sum(s.part for s in shares), sum(s.whole for s in shares))

    @property
    def total(self) -> int:
        return sum(s.whole for s in self.on_time.values())


@dataclass(frozen=True)
class Volumes:
    """Repairs reported in the period, counted several ways, and how many of them had to be reopened."""

    by_category: Sequence[tuple[str, int]]
    by_channel: Sequence[tuple[str, int]]
    by_priority: Mapping[Priority, int]
    by_week: Sequence[tuple[date, int]]
    total: int
    cancelled: int
    # Of the period's repairs finished at least once (completed now, or reopened since), how many were
    # reopened: a resident said "not fixed", or an officer reopened it.
    reopened: Share = field(default_factory=lambda: Share(0, 0))
    # Duplicate reports merged into another ticket in the period's reports: left out of every count above.
    merged_duplicates: int = 0


def completions(session: Session, period: Period) -> Completions:
    """One pass over the period's completed repairs (an index-only range scan on PostgreSQL)."""
    in_period = (Ticket.completed_at >= period.start, Ticket.completed_at < period.end)
    on_time = case((Ticket.completed_at <= Ticket.due_at, 1), else_=0)
    if session.get_bind().dialect.name == "postgresql":
        rows = _medians_postgresql(session, in_period, on_time)
    else:
        rows = _medians_by_window(session, in_period, on_time)
    shares = {p: Share(0, 0) for p in PRIORITIES}
    medians: dict[Priority, float | None] = {p: None for p in PRIORITIES}
    overall = None
    for priority, count, in_target, median in rows:
        if priority is None:
            overall = float(median) if median is not None else None
            continue
        p = Priority(priority)
        shares[p] = Share(int(in_target or 0), int(count))
        medians[p] = float(median) if median is not None else None
    return Completions(on_time=shares, median_seconds=medians, median_all_seconds=overall)


Rows = Sequence[tuple[Any, int, int | None, float | None]]


def _medians_postgresql(session: Session, in_period: tuple[ColumnElement[bool], ...],
                        on_time: ColumnElement[int]) -> Rows:
    # date_part gives double precision (EXTRACT gives numeric since PostgreSQL 14, which sorts slower);
    # the grouping sets give each priority and the whole period from one sort.
    seconds = func.date_part("epoch", Ticket.completed_at - Ticket.reported_at)
    result = session.execute(
        select(Ticket.priority, func.count(), func.sum(on_time),
               func.percentile_cont(0.5).within_group(seconds))
        .where(*in_period)
        .group_by(func.grouping_sets(tuple_(Ticket.priority), tuple_()))
    ).all()
    return [tuple(row) for row in result]


def _medians_by_window(session: Session, in_period: tuple[ColumnElement[bool], ...],
                       on_time: ColumnElement[int]) -> Rows:
    """SQLite has no percentile aggregate: number each ordering with window functions and average the
    middle row, or the two middle rows, of each."""
    seconds = (func.julianday(Ticket.completed_at) - func.julianday(Ticket.reported_at)) * 86400.0
    inner = (
        select(
            Ticket.priority.label("priority"),
            on_time.label("on_time"),
            seconds.label("d"),
            func.row_number().over(partition_by=Ticket.priority, order_by=seconds).label("rn"),
            func.count().over(partition_by=Ticket.priority).label("n"),
            func.row_number().over(order_by=seconds).label("rn_all"),
            func.count().over().label("n_all"),
        )
        .where(*in_period)
        .subquery()
    )
    c = inner.c

    def middle(rn: ColumnElement[int], n: ColumnElement[int]) -> ColumnElement[bool]:
        return rn.in_([(n + 1) // 2, (n + 2) // 2])

    rows = session.execute(
        select(
            c.priority,
            func.count(),
            func.sum(c.on_time),
            func.avg(case((middle(c.rn, c.n), c.d))),
            func.sum(case((middle(c.rn_all, c.n_all), c.d))),
            func.sum(case((middle(c.rn_all, c.n_all), 1), else_=0)),
        ).group_by(c.priority)
    ).all()
    out: list[tuple[Any, int, int | None, float | None]] = []
    middle_sum, middle_rows, total, total_on_time = 0.0, 0, 0, 0
    for priority, count, in_target, median, all_sum, all_rows in rows:
        out.append((priority, int(count), in_target, median))
        middle_sum += float(all_sum or 0.0)
        middle_rows += int(all_rows or 0)
        total += int(count)
        total_on_time += int(in_target or 0)
    out.append((None, total, total_on_time, middle_sum / middle_rows if middle_rows else None))
    return out


def _week_bucket(period: Period) -> ColumnElement[int]:
    """The index of the period's week a report falls in, from boundaries worked out in local time here
    (so clock changes are right on both databases, which disagree on time-zone functions)."""
    weeks = period.weeks()
    if len(weeks) == 1:
        return cast(literal(0), Integer)
    return case(*[(Ticket.reported_at < week.end, i) for i, week in enumerate(weeks[:-1])], else_=len(weeks) - 1)


def volumes(session: Session, period: Period) -> Volumes:
    """The period's reported repairs, from the day counts kept as tickets change (a few hundred rows),
    or from the tickets themselves when the period is not in UK days."""
    if getattr(period.tz, "key", None) == day_counts.UK.key:
        return volumes_from_day_counts(session, period)
    return volumes_from_tickets(session, period)


def volumes_from_day_counts(session: Session, period: Period) -> Volumes:
    """Added up in the database, to one row per category, channel, priority and week: a dense period holds
    hundreds of keys a day, too many to add up here quickly."""
    table = day_counts.TicketDayCount
    weeks = period.weeks()
    week = (case(*[(table.day < week.next_monday, i) for i, week in enumerate(weeks[:-1])], else_=len(weeks) - 1)
            if len(weeks) > 1 else cast(literal(0), Integer)).label("week")
    rows = session.execute(
        select(table.category, table.channel, table.priority, week,
               *[func.sum(getattr(table, name)) for name in day_counts.COUNTS])
        .where(table.day >= period.first_day, table.day <= period.last_day)
        .group_by(table.category, table.channel, table.priority, week)
    ).all()
    return _added_up([(c, ch, p, w, *(int(n or 0) for n in counts)) for c, ch, p, w, *counts in rows], period)


def volumes_from_tickets(session: Session, period: Period) -> Volumes:
    """One pass over the period's reported repairs, grouped finely and added up here: a few hundred rows
    at most, instead of a scan of the table per breakdown."""
    bucket = _week_bucket(period).label("week")
    counted = Ticket.status != Status.MERGED
    finished_once = or_(Ticket.completed_at.is_not(None), Ticket.reopen_count > 0)
    # Counts with FILTER rather than a group key per flag: every key costs a hash per row, and this scan
    # can cover most of the table (measured on PostgreSQL: about a third less time than sums of CASEs).
    rows = session.execute(
        select(
            Ticket.category,
            Ticket.channel,
            Ticket.priority,
            bucket,
            func.count().filter(counted),
            func.count().filter(Ticket.status == Status.MERGED),
            func.count().filter(counted, Ticket.cancelled_at.is_not(None)),
            func.count().filter(counted, finished_once),
            func.count().filter(counted, Ticket.reopen_count > 0),
        )
        .where(and_(Ticket.reported_at >= period.start, Ticket.reported_at < period.end))
        .group_by(Ticket.category, Ticket.channel, Ticket.priority, bucket)
    ).all()
    return _added_up(rows, period)


def _added_up(rows: Sequence[Sequence[Any]], period: Period) -> Volumes:
    categories: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    priorities: Counter[Priority] = Counter()
    weeks: Counter[int] = Counter()
    cancelled = finished = reopened = duplicates = 0
    for category, channel, priority, week, count, n_merged, n_cancelled, n_finished, n_reopened in rows:
        # A duplicate report joined into another ticket for the same job is one repair: counted once, there.
        duplicates += n_merged
        if not count:
            continue
        categories[category] += count
        channels[channel] += count
        priorities[Priority(priority)] += count
        weeks[int(week)] += count
        cancelled += n_cancelled
        finished += n_finished
        reopened += n_reopened
    return Volumes(
        by_category=sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])),
        by_channel=sorted(channels.items(), key=lambda kv: (-kv[1], kv[0])),
        by_priority={p: priorities.get(p, 0) for p in PRIORITIES},
        by_week=[(week.monday, weeks.get(i, 0)) for i, week in enumerate(period.weeks())],
        total=sum(categories.values()),
        cancelled=cancelled,
        reopened=Share(reopened, finished),
        merged_duplicates=duplicates,
    )
