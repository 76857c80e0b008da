"""Repairs reported each UK day, counted as tickets change, so a report reads a few hundred rows for a
period instead of every ticket reported in it.

`ticket_day_counts` holds, per UK day of report and (category, channel, priority), the counts the
volumes figures need: repairs reported (not merged), duplicates merged away, cancelled, finished at
least once, and reopened. Every ORM flush that inserts, changes or deletes a ticket adds the difference
between the ticket's old and new contribution, in the same transaction, with one upsert per key that
adds to what is there, so replicas writing at once never lose a count; keys are written in sorted
order so two transactions cannot deadlock on them.

Writers that bypass the ORM (the benchmark's bulk loader) must call `rebuild` afterwards; `check`
compares the counts with the tickets themselves and says which days differ.

Days are UK days (Europe/London, as the assistant's usage counters): a report for a period in another
time zone reads the tickets directly (`repairs.reports.figures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from repairs.database import Base
from repairs.tickets.models import Status, Ticket

UK = ZoneInfo("Europe/London")
COUNTS = ("reported", "merged", "cancelled", "finished", "reopened")
# The ticket attributes a contribution depends on (each mapped with active_history, so the old value is
# known when one changes).
TRACKED = ("reported_at", "category", "channel", "priority", "status", "cancelled_at", "completed_at", "reopen_count")


class TicketDayCount(Base):
    __tablename__ = "ticket_day_counts"
    __table_args__ = (PrimaryKeyConstraint("day", "category", "channel", "priority"),)

    day: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    reported: Mapped[int] = mapped_column(Integer, default=0)  # reported, and not merged into another
    merged: Mapped[int] = mapped_column(Integer, default=0)  # duplicates merged into another ticket
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[int] = mapped_column(Integer, default=0)  # completed now, or completed and reopened since
    reopened: Mapped[int] = mapped_column(Integer, default=0)


Key = tuple[date, str, str, str]


def _table() -> Table:
    return cast(Table, TicketDayCount.__table__)


@dataclass(frozen=True)
class Contribution:
    key: Key
    counts: tuple[int, int, int, int, int]  # in the order of COUNTS


def uk_day(at: datetime) -> date:
    return at.astimezone(UK).date()


def _value(v: Any) -> str:
    return str(getattr(v, "value", v))


def contribution(values: Mapping[str, Any]) -> Contribution | None:
    """What one ticket, with these attribute values, adds to the counts (None before it has a report time)."""
    reported_at = values["reported_at"]
    if reported_at is None:
        return None
    counted = _value(values["status"]) != Status.MERGED.value
    reopened = (values["reopen_count"] or 0) > 0
    counts = (
        int(counted),
        int(not counted),
        int(counted and values["cancelled_at"] is not None),
        int(counted and (values["completed_at"] is not None or reopened)),
        int(counted and reopened),
    )
    key = (uk_day(reported_at), str(values["category"]), str(values["channel"]), _value(values["priority"]))
    return Contribution(key, counts)


def _now_and_before(ticket: Ticket, *, inserted: bool, deleted: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(ticket)
    now: dict[str, Any] = {}
    before: dict[str, Any] = {}
    for name in TRACKED:
        current = getattr(ticket, name)  # loaded: set by the insert, or kept by active_history
        history = state.attrs[name].history
        now[name] = current
        before[name] = history.deleted[0] if history.deleted else current
    if inserted:
        return now, {}
    if deleted:
        return {}, before
    return now, before


def _add(into: dict[Key, list[int]], part: Contribution | None, sign: int) -> None:
    if part is None:
        return
    totals = into.setdefault(part.key, [0] * len(COUNTS))
    for i, n in enumerate(part.counts):
        totals[i] += sign * n


def changes(session: Session) -> dict[Key, list[int]]:
    """The difference this flush makes to the counts, per key (keys with no difference left out)."""
    deltas: dict[Key, list[int]] = {}
    for objects, inserted, deleted in ((session.new, True, False), (session.dirty, False, False),
                                       (session.deleted, False, True)):
        for obj in objects:
            if not isinstance(obj, Ticket):
                continue
            now, before = _now_and_before(obj, inserted=inserted, deleted=deleted)
            _add(deltas, contribution(now) if now else None, +1)
            _add(deltas, contribution(before) if before else None, -1)
    return {key: counts for key, counts in deltas.items() if any(counts)}


def apply(connection: Connection, deltas: Mapping[Key, list[int]]) -> None:
    """Add `deltas` to the stored counts: one upsert per key, in key order."""
    if not deltas:
        return
    table = _table()
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for key in sorted(deltas):
        counts = dict(zip(COUNTS, deltas[key], strict=True))
        statement = insert(table).values(day=key[0], category=key[1], channel=key[2], priority=key[3], **counts)
        connection.execute(statement.on_conflict_do_update(
            index_elements=["day", "category", "channel", "priority"],
            set_={name: table.c[name] + statement.excluded[name] for name in COUNTS},
        ))


def _after_flush(session: Session, _flush_context: Any) -> None:
    # The session's new/dirty/deleted sets and attribute histories still hold their pre-flush state here.
    apply(session.connection(), changes(session))


def track(sessions: sessionmaker[Session]) -> None:
    """Keep the counts up to date in every session `sessions` makes (call it once per factory).
    No `event.contains` check here: SQLAlchemy's event registry is keyed by object id, and a new factory
    that reused a collected one's id was taken to have the listener already (seen in the tests)."""
    event.listen(sessions, "after_flush", _after_flush)


# -- rebuilding and checking ------------------------------------------------------------------------------


def from_tickets(connection: Connection, *, batch: int = 10_000) -> dict[Key, list[int]]:
    """The counts worked out from the tickets table itself (a full scan, streamed)."""
    columns = [getattr(Ticket, name) for name in TRACKED]
    totals: dict[Key, list[int]] = {}
    # yield_per on the statement: on a Connection, execution_options() would change the connection itself.
    result = connection.execute(select(*columns).execution_options(yield_per=batch))
    for row in result:
        _add(totals, contribution(dict(zip(TRACKED, row, strict=True))), +1)
    return totals


def stored(connection: Connection) -> dict[Key, list[int]]:
    table = _table()
    rows = connection.execute(select(table.c.day, table.c.category, table.c.channel, table.c.priority,
                                     *[table.c[name] for name in COUNTS]))
    return {(r[0], r[1], r[2], r[3]): list(r[4:]) for r in rows if any(r[4:])}


def rebuild(connection: Connection) -> int:
    """Replace the stored counts with ones worked out from the tickets (after a bulk load or a restore);
    returns how many keys there are. Safe while the service is writing: on PostgreSQL the table lock waits
    for transactions that have added to the counts and holds back new ones until this commits, and then
    their tickets are either in the scan below or added afterwards, never both; SQLite has one writer."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE ticket_day_counts IN EXCLUSIVE MODE"))
    connection.execute(delete(_table()))
    totals = {key: counts for key, counts in from_tickets(connection).items() if any(counts)}
    apply(connection, totals)
    if connection.dialect.name == "postgresql":
        # Statistics now, not at autovacuum's next visit: without them the planner sorts the keys (as
        # text) instead of hashing them, measured at twice the time for a quarter's report.
        connection.execute(text("ANALYZE ticket_day_counts"))
    return len(totals)


def check(connection: Connection) -> list[date]:
    """The days whose stored counts differ from the tickets' (empty when they agree)."""
    expected, have = from_tickets(connection), stored(connection)
    expected = {key: counts for key, counts in expected.items() if any(counts)}
    return sorted({key[0] for key in set(expected) | set(have) if expected.get(key) != have.get(key)})


def stored_between(connection: Connection, first_day: date, last_day: date) -> Sequence[Any]:
    """The stored rows for UK days first_day..last_day (inclusive)."""
    table = _table()
    return connection.execute(
        select(table.c.day, table.c.category, table.c.channel, table.c.priority, *[table.c[name] for name in COUNTS])
        .where(table.c.day >= first_day, table.c.day <= last_day)
    ).all()
