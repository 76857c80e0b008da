"""The queue says how many households a shared fault affects (the reporter and everyone linked to it by "me
too" or a merge), on the workspace page and in the JSON queue, from the one queue query: the number of
statements a page costs does not grow with the tickets that have linked households."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from repairs.database import utcnow
from repairs.tickets.queue import QueueFilters, queue_query
from tests.test_query_plans import _plan
from tests.test_shared_faults import LIFT, me_too, report
from tests.test_workspace_queue import rows
from tests.workspace_client import sign_in

QUEUE = "/api/v1/officer/tickets"
DRIP = {"category": "plumbing", "description": "The kitchen tap drips all the time", "location": "kitchen"}


def page_rows(client) -> list[tuple[str, str]]:
    """(reference, row text) for each row of the queue page."""
    return [(ref, text) for ref, _classes, text in rows(client)]


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_shared_fault_shows_how_many_households_it_affects(client, factory, ctx):
    officer = factory.officer()
    reporter, *neighbours = (factory.resident(block="Alder House") for _ in range(4))
    lift = report(client, reporter, LIFT)
    alone = report(client, factory.resident(block="Alder House"), DRIP)
    for neighbour in neighbours[:2]:
        assert me_too(client, neighbour, lift).status_code == 200
    # A duplicate's household, merged in, is affected too.
    dup = report(client, neighbours[2], {**LIFT, "description": "Lift broken again"})
    r = client.post(f"{QUEUE}/{dup}/merge", headers=officer.headers, json={"into": lift})
    assert r.status_code == 200, r.text

    api = {row["reference"]: row for row in client.get(QUEUE, headers=officer.headers).json()["items"]}
    assert api[lift]["linked_households"] == 3
    assert api[alone]["linked_households"] == 0

    assert sign_in(client, officer.email, officer.password).status_code == 303
    shown = {ref: text for ref, text in page_rows(client)}
    assert "4 households affected" in shown[lift]
    assert "households affected" not in shown[alone] and "household affected" not in shown[alone]


def test_a_public_report_with_one_linked_household_says_one(client, factory, ctx):
    """An Open311 report has no resident: the count is the linked households alone, in the singular."""
    from repairs.database import transaction
    from repairs.tickets.models import LinkedResident, Ticket
    from tests.test_api_officer import make_ticket

    officer = factory.officer()
    ref = make_ticket(ctx, category="lifts", description="Lift stuck", channel="open311")
    neighbour = factory.resident()
    with transaction(ctx.sessions) as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.reference == ref))
        s.add(LinkedResident(ticket_id=ticket_id, resident_id=neighbour.id))
    assert sign_in(client, officer.email, officer.password).status_code == 303
    shown = dict(page_rows(client))
    assert "1 household affected" in shown[ref]


def test_the_count_costs_no_query_per_row(client, factory, ctx):
    officer = factory.officer()
    residents = [factory.resident(block="Birch Court") for _ in range(8)]
    faults = [report(client, residents[i], {**LIFT, "description": f"Lift {i} stuck"}) for i in range(4)]
    assert sign_in(client, officer.email, officer.password).status_code == 303
    with statements(ctx.engine) as before_page:
        page_rows(client)
    with statements(ctx.engine) as before_api:
        client.get(QUEUE, headers=officer.headers)
    for fault, neighbour in zip(faults, residents[4:], strict=True):
        assert me_too(client, neighbour, fault).status_code == 200
    with statements(ctx.engine) as after_page:
        rows = dict(page_rows(client))
    with statements(ctx.engine) as after_api:
        client.get(QUEUE, headers=officer.headers)
    assert all("2 households affected" in rows[f] for f in faults)
    assert len(after_page) == len(before_page) and len(after_api) == len(before_api)


def test_the_queue_with_its_count_still_reads_the_open_due_index(engine, ctx):
    plan = _plan(engine, queue_query(QueueFilters(), now=utcnow()).limit(51))
    assert "ix_tickets_open_due" in plan, plan
    # The count seeks the page's tickets' linked households by ticket id, through an index.
    linked = [line for line in plan.splitlines() if "ticket_linked_residents" in line]
    assert any("index" in line.lower() for line in linked), plan
    assert "SCAN ticket_linked_residents" not in plan and "Seq Scan on ticket_linked_residents" not in plan, plan
