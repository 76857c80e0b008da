"""The reports' day counts (repairs/reports/day_counts.py) follow every ticket write: through the API, through
any ORM change (also of an attribute that was not loaded), deletes, writers racing; they can be
checked and rebuilt after a bulk load, the migration fills them, and the volumes read from them are the
volumes worked out from the tickets."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import insert, select

from repairs.cli import main as cli_main
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.reports import day_counts
from repairs.reports.figures import volumes, volumes_from_day_counts, volumes_from_tickets
from repairs.reports.period import Period
from repairs.tickets.models import Priority, Status, Ticket
from tests.factories import Factory
from tests.report_data import ticket
from tests.test_api_officer import report, set_status

LONDON = ZoneInfo("Europe/London")


def agree(ctx: ServiceContext) -> None:
    """The stored counts are exactly what the tickets say, key by key."""
    with ctx.engine.connect() as conn:
        expected = {k: v for k, v in day_counts.from_tickets(conn).items() if any(v)}
        assert day_counts.stored(conn) == expected
        assert day_counts.check(conn) == []


def uk_today() -> date:
    return datetime.now(UTC).astimezone(LONDON).date()


def test_a_repairs_life_through_the_api_is_counted(client, factory: Factory, ctx: ServiceContext, backend) -> None:
    res = factory.resident()
    officer = factory.officer()
    plain = report(client, res)
    gas = report(client, res, category="gas", description="I can smell gas near the cooker")
    dup = report(client, res, description="The kitchen tap is dripping again and again")
    agree(ctx)
    r = client.post(f"/api/v1/officer/tickets/{dup['reference']}/merge", headers=officer.headers,
                    json={"into": plain["reference"]})
    assert r.status_code == 200, r.text
    for status in ("in_progress", "completed"):
        assert set_status(client, officer, plain["reference"], status).status_code == 200
    assert set_status(client, officer, gas["reference"], "cancelled", note="Made safe by the gas network"
                      ).status_code == 200
    agree(ctx)
    r = client.post(f"/api/v1/tickets/{plain['reference']}/reopen", headers=res.headers,
                    json={"reason": "It drips again"})
    assert r.status_code == 200, r.text
    agree(ctx)

    today = uk_today()
    period = Period(first_day=today, last_day=today, tz=LONDON)
    with transaction(ctx.sessions) as s:
        counted = volumes(s, period)
    assert counted.total == 2 and counted.merged_duplicates == 1 and counted.cancelled == 1
    assert counted.reopened.part == 1 and counted.reopened.whole == 1  # finished once, then reopened


TRACKED_CHANGES = {
    "category": lambda rng: rng.choice(["plumbing", "heating", "electrical", "roofing"]),
    "channel": lambda rng: rng.choice(["telegram", "web", "phone"]),
    "priority": lambda rng: rng.choice(list(Priority)),
    "status": lambda rng: rng.choice([Status.REPORTED, Status.MERGED, Status.COMPLETED, Status.REOPENED]),
    "cancelled_at": lambda rng: rng.choice([None, datetime(2026, 3, 20, 12, tzinfo=UTC)]),
    "completed_at": lambda rng: rng.choice([None, datetime(2026, 3, 21, 12, tzinfo=UTC)]),
    "reopen_count": lambda rng: rng.choice([0, 0, 1, 2]),
    # Across midnight in London (BST starts on 29 March 2026), so a change of day moves the count.
    "reported_at": lambda rng: datetime(2026, 3, 28, 23, 30, tzinfo=UTC) + timedelta(hours=rng.randrange(-30, 30)),
}


def test_any_orm_change_keeps_the_counts(ctx: ServiceContext, factory: Factory, backend) -> None:
    rng = random.Random(20261126)
    resident_id = factory.resident().id
    with transaction(ctx.sessions) as s:
        s.add_all([ticket(resident_id, reported=datetime(2026, 3, 28, 10, tzinfo=UTC) + timedelta(hours=7 * i))
                   for i in range(12)])
    for step in range(60):
        with transaction(ctx.sessions) as s:
            tickets = list(s.scalars(select(Ticket).order_by(Ticket.id)))
            for t in rng.sample(tickets, k=3):
                name = rng.choice(sorted(TRACKED_CHANGES))
                if step % 4 == 0:
                    s.expire(t, [name])  # not loaded when it changes: its old value must still be taken away
                setattr(t, name, TRACKED_CHANGES[name](rng))
            if step % 15 == 14:
                s.delete(rng.choice(tickets))
            if step % 10 == 5:
                s.add(ticket(resident_id, reported=TRACKED_CHANGES["reported_at"](rng)))
        agree(ctx)
    period = Period(first_day=date(2026, 3, 26), last_day=date(2026, 3, 31), tz=LONDON)
    with transaction(ctx.sessions) as s:
        assert volumes_from_day_counts(s, period) == volumes_from_tickets(s, period)


def test_a_rolled_back_change_leaves_the_counts_alone(ctx: ServiceContext, factory: Factory, backend) -> None:
    resident_id = factory.resident().id
    with transaction(ctx.sessions) as s:
        s.add(ticket(resident_id, reported=datetime(2026, 3, 24, 9, tzinfo=UTC)))
    with pytest.raises(RuntimeError), transaction(ctx.sessions) as s:
        t = s.scalars(select(Ticket)).one()
        t.status = Status.MERGED
        s.flush()  # the counts moved in this transaction...
        raise RuntimeError("and it is rolled back")
    agree(ctx)  # ...and moved back with it
    with ctx.engine.connect() as conn:
        assert sum(v[0] for v in day_counts.stored(conn).values()) == 1


def test_writers_racing_lose_no_count(ctx: ServiceContext, factory: Factory, backend) -> None:
    """Replicas' writers at once (on SQLite they queue for its one write lock)."""
    resident_id = factory.resident().id
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                with transaction(ctx.sessions) as s:
                    # All on the same key, and two keys per transaction in opposite orders: no deadlock.
                    s.add(ticket(resident_id, reported=datetime(2026, 3, 24, 9, tzinfo=UTC)))
                    s.add(ticket(resident_id, reported=datetime(2026, 3, 25, 9, tzinfo=UTC) if n % 2
                                 else datetime(2026, 3, 23, 9, tzinfo=UTC)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    agree(ctx)
    with ctx.engine.connect() as conn:
        assert sum(v[0] for v in day_counts.stored(conn).values()) == 80


def test_a_bulk_load_is_found_by_check_and_mended_by_rebuild(ctx: ServiceContext, factory: Factory, settings,
                                                               capsys, backend) -> None:
    resident_id = factory.resident().id
    with transaction(ctx.sessions) as s:
        s.add(ticket(resident_id, reported=datetime(2026, 3, 24, 9, tzinfo=UTC)))
    url = ["--database-url", settings.database_url]
    assert cli_main([*url, "report-counts", "check"]) == 0
    # Rows written past the ORM, as the benchmark's loader does: the counts do not know them.
    with ctx.engine.begin() as conn:
        conn.execute(insert(Ticket), [{
            "reference": f"HR-BULK{i:04d}", "resident_id": resident_id, "category": "heating",
            "priority": Priority.URGENT, "status": Status.REPORTED, "summary": "Cold radiators",
            "description": "Cold radiators", "channel": "web", "reported_at": datetime(2026, 3, 26, 9, tzinfo=UTC),
            "due_at": datetime(2026, 3, 29, 9, tzinfo=UTC), "created_at": datetime(2026, 3, 26, 9, tzinfo=UTC),
            "updated_at": datetime(2026, 3, 26, 9, tzinfo=UTC),
        } for i in range(3)])
    capsys.readouterr()
    assert cli_main([*url, "report-counts", "check"]) == 1
    assert "2026-03-26" in capsys.readouterr().err
    assert cli_main([*url, "report-counts", "rebuild"]) == 0
    assert cli_main([*url, "report-counts", "check"]) == 0
    agree(ctx)


def test_a_period_in_another_time_zone_is_counted_from_the_tickets(ctx: ServiceContext, factory: Factory,
                                                                     backend) -> None:
    resident_id = factory.resident().id
    with transaction(ctx.sessions) as s:
        # 23:30 UTC on 23 March: the 23rd in London, the 24th in Paris.
        s.add(ticket(resident_id, reported=datetime(2026, 3, 23, 23, 30, tzinfo=UTC)))
    paris = Period(first_day=date(2026, 3, 24), last_day=date(2026, 3, 24), tz=ZoneInfo("Europe/Paris"))
    london = Period(first_day=date(2026, 3, 24), last_day=date(2026, 3, 24), tz=LONDON)
    with transaction(ctx.sessions) as s:
        assert volumes(s, paris).total == 1
        assert volumes(s, london).total == 0


def test_the_migration_counts_the_tickets_already_stored(scratch_database_url) -> None:
    from repairs.migrate import upgrade

    url = scratch_database_url
    upgrade(url, "0010")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Ticket), [{
                "reference": f"HR-OLD{i:04d}", "category": "plumbing", "priority": Priority.ROUTINE,
                "status": Status.COMPLETED if i % 2 else Status.REPORTED, "summary": "Tap drips",
                "description": "Tap drips", "channel": "telegram", "reopen_count": 0,
                "reported_at": datetime(2026, 3, 24, 9, tzinfo=UTC) + timedelta(days=i % 3),
                "completed_at": datetime(2026, 3, 28, 9, tzinfo=UTC) if i % 2 else None,
                "due_at": datetime(2026, 4, 20, 9, tzinfo=UTC), "created_at": datetime(2026, 3, 24, 9, tzinfo=UTC),
                "updated_at": datetime(2026, 3, 24, 9, tzinfo=UTC),
            } for i in range(9)])
        upgrade(url)
        with engine.connect() as conn:
            stored = day_counts.stored(conn)
            assert stored == {k: v for k, v in day_counts.from_tickets(conn).items() if any(v)}
            assert sum(v[0] for v in stored.values()) == 9
            assert sum(v[3] for v in stored.values()) == 4  # finished
    finally:
        engine.dispose()
