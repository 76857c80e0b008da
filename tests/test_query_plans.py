"""The queries behind the busiest pages use their indexes (a seq scan over 200,000 tickets was 110 ms)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import literal, select, tuple_

from repairs.database import UTCDateTime
from repairs.tickets.models import Ticket


def _plan(engine, query) -> str:
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table must not make a scan look cheap
        rows = conn.exec_driver_sql(prefix + str(compiled)).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


def test_officer_queue_uses_the_open_due_index(engine, ctx):
    query = select(Ticket.id).where(Ticket.is_open.is_(True)).order_by(Ticket.due_at, Ticket.id).limit(51)
    plan = _plan(engine, query)
    assert "ix_tickets_open_due" in plan, plan
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    deep = query.where(tuple_(Ticket.due_at, Ticket.id) > tuple_(literal(moment, UTCDateTime()), 5))
    assert "ix_tickets_open_due" in _plan(engine, deep)


def test_resident_list_uses_its_index(engine, ctx):
    query = select(Ticket.id).where(Ticket.resident_id == 1).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    assert "ix_tickets_resident_created" in _plan(engine, query.limit(21))
