"""Tickets record their HHSRS hazard and group, and get the clocks their group has on the day they are reported,
on both databases; the migration gives existing damp and mould tickets the damp_mould group."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.migrate import upgrade
from repairs.tickets.models import Priority, Ticket
from tests.factories import Factory, ResidentHandle

# A window restrictor broken on the ground floor: urgent by the fact rules, a falls hazard.
FALL = {"affected": [{"code": "fall_from_height", "p": 0.9}], "floor": {"value": "ground", "p": 0.8}}
AFTER_PHASE_2 = datetime(2026, 12, 7, 10, tzinfo=UTC)  # a Monday
BEFORE_PHASE_2 = datetime(2026, 10, 20, 10, tzinfo=UTC)


def create(client: TestClient, res: ResidentHandle, **body: object) -> Any:
    payload = {"category": "doors_windows", "description": "the window restrictor has snapped", **body}
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def stored(ctx: ServiceContext, ref: str) -> Ticket:
    with transaction(ctx.sessions) as s:
        return s.scalars(select(Ticket).where(Ticket.reference == ref)).one()


def test_a_falls_report_after_its_phase_gets_the_significant_hazard_clock(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    res = factory.resident()
    with time_machine.travel(AFTER_PHASE_2, tick=False):
        ticket = stored(ctx, create(client, res, facts=FALL)["reference"])
    assert (ticket.hazard, ticket.hazard_group, ticket.priority) == ("falls_between_levels", "falls", Priority.URGENT)
    assert ticket.awaab_applies and "awaab:falls" in ticket.priority_reasons
    assert ticket.awaab_investigate_by == ctx.policy.calendar.add_working_days(AFTER_PHASE_2, 10)


def test_the_same_report_before_its_phase_records_the_hazard_without_clocks(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    res = factory.resident()
    with time_machine.travel(BEFORE_PHASE_2, tick=False):
        ticket = stored(ctx, create(client, res, facts=FALL)["reference"])
    assert (ticket.hazard, ticket.hazard_group) == ("falls_between_levels", "falls")
    assert not ticket.awaab_applies and ticket.awaab_investigate_by is None


def test_an_emergency_hazard_from_facts_gets_the_24_hour_clock(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    res = factory.resident()
    facts = {"affected": [{"code": "electrical_danger", "p": 0.95}]}
    with time_machine.travel(AFTER_PHASE_2, tick=False):
        ticket = stored(ctx, create(client, res, category="electrical", description="sparks from the socket",
                                    facts=facts)["reference"])
    assert (ticket.hazard, ticket.hazard_group, ticket.emergency) == ("electrical", "electrical", True)
    assert ticket.awaab_investigate_by == ticket.make_safe_by == AFTER_PHASE_2 + timedelta(hours=24)


def test_a_leaseholder_report_records_the_hazard_but_gets_no_clock(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    from repairs.residents.models import Tenure

    res = factory.resident(tenure=Tenure.LEASEHOLDER)
    facts = {"affected": [{"code": "electrical_danger", "p": 0.95}]}
    with time_machine.travel(AFTER_PHASE_2, tick=False):
        ticket = stored(ctx, create(client, res, category="electrical", description="sparks from the socket",
                                    facts=facts)["reference"])
    assert ticket.hazard == "electrical" and not ticket.awaab_applies


# -- the migration --------------------------------------------------------------------------------------


def _row(reference: str, category: str, *, emergency: bool, awaab: bool) -> dict[str, Any]:
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    return {
        "reference": reference, "category": category, "priority": "emergency" if emergency else "routine",
        "status": "reported", "is_open": True, "emergency": emergency, "summary": "s", "description": "d",
        "location_type": "in_home", "vulnerable": False, "channel": "api", "priority_reasons": [],
        "reported_at": at, "due_at": at, "awaab_applies": awaab, "reopen_count": 0, "created_at": at,
        "updated_at": at,
    }


def test_the_migration_maps_existing_damp_and_mould_tickets(scratch_database_url: str) -> None:
    upgrade(scratch_database_url, "0017")
    engine = sa.create_engine(scratch_database_url)
    try:
        tickets = sa.Table("tickets", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(tickets.insert(), [
                _row("HR-DAMP01", "damp_mould", emergency=False, awaab=True),
                _row("HR-DAMP02", "plumbing", emergency=False, awaab=True),  # mould in the words
                _row("HR-DAMP03", "damp_mould", emergency=False, awaab=False),  # a leaseholder's
                _row("HR-ELEC01", "electrical", emergency=True, awaab=True),
                _row("HR-FITT01", "fittings", emergency=False, awaab=False),
            ])
        upgrade(scratch_database_url)
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                "SELECT reference, hazard_group FROM tickets WHERE hazard = hazard_group OR hazard IS NULL")).all())
    finally:
        engine.dispose()
    assert rows == {"HR-DAMP01": "damp_mould", "HR-DAMP02": "damp_mould", "HR-DAMP03": "damp_mould",
                    "HR-ELEC01": None, "HR-FITT01": None}


def test_a_merge_brings_the_duplicates_hazard_with_its_clocks(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    res = factory.resident()
    with time_machine.travel(AFTER_PHASE_2, tick=False):
        main = create(client, res, category="fittings", description="the bedroom window catch is loose")["reference"]
        dup = create(client, res, facts=FALL)["reference"]
    r = client.post(f"/api/v1/officer/tickets/{dup}/merge", headers=officer.headers, json={"into": main})
    assert r.status_code == 200, r.text
    merged = stored(ctx, main)
    assert (merged.hazard, merged.hazard_group, merged.awaab_applies) == ("falls_between_levels", "falls", True)


def test_officers_read_and_filter_the_hazard_through_the_api(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    res = factory.resident()
    with time_machine.travel(AFTER_PHASE_2, tick=False):
        falls = create(client, res, facts=FALL)["reference"]
        plain = create(client, res, category="fittings", description="a kitchen drawer is broken")["reference"]
    body = client.get(f"/api/v1/officer/tickets/{falls}", headers=officer.headers).json()
    assert (body["hazard"], body["hazard_group"]) == ("falls_between_levels", "falls")
    items = client.get("/api/v1/officer/tickets", headers=officer.headers,
                       params={"hazard_group": "falls", "limit": 200}).json()["items"]
    shown = {item["reference"]: item["hazard_group"] for item in items}
    assert shown.get(falls) == "falls" and plain not in shown
