"""The queries behind the busiest pages use their indexes (a seq scan over 200,000 tickets was 110 ms)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, literal, select, tuple_

from repairs.database import UTCDateTime
from repairs.tickets.models import Ticket


def _plan(engine, query, *, seqscan: bool = False) -> str:
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql" and not seqscan:
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


def test_resident_list_uses_its_index(engine, ctx, factory):
    """The list's own condition (the resident's tickets and those they are linked to) seeks the resident's
    tickets among many others'; `resident_id = … OR id IN (…)` read every ticket (28 ms at 200,000)."""
    from repairs.tickets.routes import visible_to

    me = factory.resident().id
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [{"reference": f"HR-PLAN{i:05d}", "resident_id": me if i % 250 == 0 else None, "category": "plumbing",
             "priority": "routine", "status": "reported", "summary": "Tap", "description": "Tap", "channel": "web",
             "reported_at": moment, "due_at": moment, "created_at": moment, "updated_at": moment, "reopen_count": 0}
            for i in range(5000)]
    with engine.begin() as conn:
        conn.execute(insert(Ticket), rows)
        conn.exec_driver_sql("ANALYZE")
    query = select(Ticket.id).where(visible_to(me)).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(21)
    plan = _plan(engine, query, seqscan=True)
    assert "ix_tickets_resident_created" in plan, plan
    assert "Seq Scan on tickets" not in plan and "SCAN tickets\n" not in plan + "\n", plan
