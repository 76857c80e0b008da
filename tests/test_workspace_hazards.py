"""The workspace shows a ticket's HHSRS hazard and its Awaab's Law clocks as it shows damp and mould's: a badge,
the due dates and the clock that runs next, on the ticket page and the queue, filterable by hazard group; the
CSV export carries the hazard and its group. Tickets are reported at a fixed instant after the 2026 phase's
start (explicit `now=`), so the test holds whatever `--clock` the suite runs at. Both databases."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from repairs_common.facts import Facts

from repairs.auth.models import Role
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.residents.models import Resident
from repairs.tickets import service
from repairs.tickets.models import LocationType
from repairs.workspace.formatting import local_time
from tests.factories import Factory, ResidentHandle
from tests.workspace_client import RecordPage, sign_in, text_of

REPORTED = datetime(2026, 12, 7, 10, tzinfo=UTC)  # a Monday, after the 2026 phase's first day
FALL = Facts.from_labels({"affected": ["fall_from_height"], "floor": "ground"})


def reported(ctx: ServiceContext, res: ResidentHandle, category: str, description: str,
             facts: Facts | None = None) -> str:
    with transaction(ctx.sessions) as s:
        resident = s.get(Resident, res.id)
        assert resident is not None
        created = service.create_ticket(
            s, ctx.policy,
            service.NewTicket(category=category, description=description, location_type=LocationType.IN_HOME,
                              location="bedroom", channel="telegram", facts=facts),
            actor=service.Actor("system", "test"), resident=resident, prop=resident.tenancy.property, now=REPORTED,
        )
        return created.ticket.reference


@pytest.fixture
def tickets(client: TestClient, factory: Factory, ctx: ServiceContext) -> dict[str, str]:
    supervisor = factory.officer(role=Role.SUPERVISOR)
    assert sign_in(client, supervisor.email, supervisor.password).status_code == 303
    res = factory.resident()
    return {
        "falls": reported(ctx, res, "doors_windows", "The window restrictor in the bedroom has snapped", FALL),
        "damp": reported(ctx, res, "damp_mould", "Black mould on the bedroom wall"),
        "plain": reported(ctx, res, "fittings", "A kitchen drawer is broken"),
    }


def queue_rows(client: TestClient, **params: str) -> dict[str, str]:
    page = client.get("/officer/queue", params=params)
    assert page.status_code == 200, page.text
    out = {}
    for body in re.findall(r'<tr class="queue__row[^"]*">(.*?)</tr>', page.text, re.S):
        ref = re.search(r'class="ref" href="/officer/tickets/([^"]+)"', body)
        assert ref
        out[ref.group(1)] = text_of(body)
    return out


def test_the_ticket_page_shows_a_falls_hazard_and_its_clocks(
    client: TestClient, ctx: ServiceContext, tickets: dict[str, str], backend: str
) -> None:
    page = RecordPage(client, "/officer/tickets", tickets["falls"])
    assert "Hazard: Falls" in page.text and "Falling between levels" in page.text
    assert "Awaab's Law: Falls" in page.text
    due = ctx.policy.calendar.add_working_days(REPORTED, 10)
    assert re.search(r"Investigate runs next .* by " + re.escape(local_time(due)), page.text), page.text
    assert "Record investigation now" in page.text
    plain = RecordPage(client, "/officer/tickets", tickets["plain"])
    assert "Hazard:" not in plain.text and "Awaab's Law" not in plain.text


def test_the_queue_shows_the_hazard_and_the_clock_that_runs_next(
    client: TestClient, tickets: dict[str, str], backend: str
) -> None:
    rows = queue_rows(client)
    assert "Hazard: Falls" in rows[tickets["falls"]] and "Investigate by" in rows[tickets["falls"]]
    assert "Hazard: Damp and mould" in rows[tickets["damp"]] and "Investigate by" in rows[tickets["damp"]]
    assert "Hazard:" not in rows[tickets["plain"]] and "Investigate by" not in rows[tickets["plain"]]


@pytest.mark.parametrize(("group", "expected"), [("falls", {"falls"}), ("damp_mould", {"damp"}), ("fire", set())])
def test_the_queue_filters_by_hazard_group(
    client: TestClient, tickets: dict[str, str], backend: str, group: str, expected: set[str]
) -> None:
    assert set(queue_rows(client, hazard=group)) == {tickets[name] for name in expected}


def test_an_unknown_hazard_group_is_said_plainly(client: TestClient, tickets: dict[str, str], backend: str) -> None:
    page = client.get("/officer/queue", params={"hazard": "wobbly"})
    assert page.status_code == 200
    assert "There is no hazard group called “wobbly”" in page.text
    assert set(queue_rows(client, hazard="wobbly")) == set(tickets.values())


def test_the_export_carries_the_hazard_and_its_group(
    client: TestClient, tickets: dict[str, str], backend: str
) -> None:
    response = client.get("/officer/reports/tickets.csv", params={"from": "2026-12-07", "to": "2026-12-07"})
    assert response.status_code == 200, response.text
    by_ref = {row["reference"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert (by_ref[tickets["falls"]]["hhsrs_hazard"], by_ref[tickets["falls"]]["awaab_hazard_group"]) == (
        "falls_between_levels", "falls")
    assert by_ref[tickets["falls"]]["awaab_law_applies"] == "yes"
    assert by_ref[tickets["damp"]]["awaab_hazard_group"] == "damp_mould"
    assert by_ref[tickets["plain"]]["awaab_hazard_group"] == ""
