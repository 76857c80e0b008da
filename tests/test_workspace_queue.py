"""The queue page: the same tickets in the same order as the officers' JSON queue, soonest to breach
first, with its filters, search, keyset paging, time left or how late, Awaab's Law clocks, and
emergencies marked in words as well as colour. Runs on both databases."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.residents.models import Resident
from repairs.tickets import service
from repairs.tickets.models import LocationType, Ticket
from tests.factories import Factory, OfficerHandle, ResidentHandle
from tests.workspace_client import sign_in

ROW = re.compile(r'<tr class="queue__row([^"]*)">(.*?)</tr>', re.S)
REF = re.compile(r'class="ref" href="/officer/tickets/([^"]+)"')


def report(client: TestClient, res: ResidentHandle, *, category: str = "plumbing",
           description: str = "The kitchen tap drips all the time", **extra: str) -> str:
    body = {"category": category, "description": description, "location": "kitchen", **extra}
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def back_dated(ctx: ServiceContext, res: ResidentHandle, *, days: int, description: str = "The bath tap drips") -> str:
    with transaction(ctx.sessions) as s:
        resident = s.get(Resident, res.id)
        assert resident is not None
        created = service.create_ticket(
            s, ctx.policy,
            service.NewTicket(category="plumbing", description=description, location_type=LocationType.IN_HOME,
                              location="bathroom", channel="telegram"),
            actor=service.Actor("system", "test"), resident=resident, prop=resident.tenancy.property,
            now=datetime.now(UTC) - timedelta(days=days),
        )
        return created.ticket.reference


def rows(client: TestClient, **params: str) -> list[tuple[str, set[str], str]]:
    """(reference, row classes, row text) for each row of the queue page, in order."""
    page = client.get("/officer/queue", params=params)
    assert page.status_code == 200, page.text
    found = []
    for classes, body in ROW.findall(page.text):
        ref = REF.search(body)
        assert ref, body
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
        found.append((ref.group(1), set(classes.split()), text))
    return found


def refs(client: TestClient, **params: str) -> list[str]:
    return [r for r, _, _ in rows(client, **params)]


@pytest.fixture
def officer(client: TestClient, factory: Factory) -> OfficerHandle:
    handle = factory.officer()
    assert sign_in(client, handle.email, handle.password).status_code == 303
    return handle


@pytest.fixture
def mixed(client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle) -> dict[str, str]:
    """Tickets that differ in one way each, so every filter has one right answer."""
    alder = factory.resident(postcode="NW1 8YL", block="Alder House", estate="Castlehaven Estate")
    birch = factory.resident(postcode="NW5 2QT", block="Birch House", estate="Maitland Park Estate",
                             vulnerabilities=["elderly"])
    tickets = {
        "routine": report(client, alder),
        "web": report(client, alder, category="electrical", description="The hallway light switch is loose",
                      channel="web"),
        "gas": report(client, alder, category="gas", description="I can smell gas near the cooker"),
        "vulnerable": report(client, birch),
        "damp": report(client, alder, category="damp_mould", description="Black mould on the bedroom wall"),
        "overdue": back_dated(ctx, alder, days=60),
        "cancelled": report(client, alder, description="The toilet cistern keeps running"),
    }
    r = client.post(f"/api/v1/officer/tickets/{tickets['cancelled']}/status", headers=officer.headers,
                    json={"status": "cancelled"})
    assert r.status_code == 200, r.text
    return tickets


def test_the_queue_is_soonest_to_breach_first_like_the_api(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, mixed: dict[str, str], backend: str
) -> None:
    shown = refs(client)
    with transaction(ctx.sessions) as s:
        expected = list(s.scalars(select(Ticket.reference).where(Ticket.is_open.is_(True))
                                  .order_by(Ticket.due_at, Ticket.id)))
    assert shown == expected
    api = client.get("/api/v1/officer/tickets", headers=officer.headers).json()
    assert shown == [item["reference"] for item in api["items"]]
    assert mixed["cancelled"] not in shown
    # The 60-day-old repair is late, so it leads; the emergency is the next to breach.
    assert shown[:2] == [mixed["overdue"], mixed["gas"]]


def test_each_row_says_time_left_or_how_late_and_emergencies_stand_out(
    client: TestClient, mixed: dict[str, str], backend: str
) -> None:
    by_ref = {ref: (classes, text) for ref, classes, text in rows(client)}
    classes, text = by_ref[mixed["gas"]]
    assert "queue__row--emergency" in classes
    assert re.match(r"\d+ h( \d+ min)? left due ", text), text  # an emergency's clock runs in hours
    assert "Emergency" in text  # in words, not only colour
    late_classes, late_text = by_ref[mixed["overdue"]]
    assert "queue__row--late" in late_classes and " late " in late_text and "days" in late_text
    for ref in (mixed["routine"], mixed["web"], mixed["damp"]):
        assert "queue__row--emergency" not in by_ref[ref][0] and "Emergency" not in by_ref[ref][1]
    assert "Vulnerable resident" in by_ref[mixed["vulnerable"]][1]
    assert "NW5 2QT" in by_ref[mixed["vulnerable"]][1] and "Birch House" in by_ref[mixed["vulnerable"]][1]


def test_damp_and_mould_rows_show_the_awaab_clock_that_runs_next(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, mixed: dict[str, str], backend: str
) -> None:
    by_ref = {ref: text for ref, _, text in rows(client)}
    assert "Investigate by" in by_ref[mixed["damp"]]
    assert "Investigate by" not in by_ref[mixed["routine"]]
    # Once investigated, the next clock is the written summary or the safety work, whichever is sooner.
    r = client.post(f"/api/v1/officer/tickets/{mixed['damp']}/investigated", headers=officer.headers, json={})
    assert r.status_code == 200, r.text
    text = {ref: text for ref, _, text in rows(client)}[mixed["damp"]]
    assert "Investigate by" not in text
    assert "Written summary by" in text or "Safety work by" in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"priority": "emergency"}, {"gas"}),
        ({"priority": "urgent"}, {"vulnerable"}),
        ({"category": "electrical"}, {"web"}),
        ({"channel": "web"}, {"web"}),
        ({"vulnerable": "yes"}, {"vulnerable"}),
        ({"overdue": "yes"}, {"overdue"}),
        ({"block": "Birch House"}, {"vulnerable"}),
        ({"estate": "Maitland Park Estate"}, {"vulnerable"}),
        ({"status": "reported"}, {"routine", "web", "gas", "vulnerable", "damp", "overdue"}),
        ({"estate": "Castlehaven Estate", "priority": "emergency"}, {"gas"}),
        ({"block": "Birch House", "priority": "emergency"}, set()),
        ({"q": "nw52qt"}, {"vulnerable"}),
        ({"q": "birch hou"}, {"vulnerable"}),
        ({"q": "%"}, set()),
    ],
)
def test_filters_and_search(
    client: TestClient, mixed: dict[str, str], backend: str, params: dict[str, str], expected: set[str]
) -> None:
    names = {ref: name for name, ref in mixed.items()}
    assert {names[r] for r in refs(client, **params)} == expected


def test_search_by_reference_as_people_type_it(client: TestClient, mixed: dict[str, str], backend: str) -> None:
    gas = mixed["gas"]
    assert refs(client, q=gas) == [gas]
    assert refs(client, q=f"  {gas.lower().replace('-', '')} ") == [gas]


def test_not_overdue_leaves_out_only_the_late_one(client: TestClient, mixed: dict[str, str], backend: str) -> None:
    open_refs = {v for k, v in mixed.items() if k != "cancelled"}
    assert set(refs(client, overdue="no")) == open_refs - {mixed["overdue"]}


def test_the_filter_form_keeps_its_values_and_says_what_it_could_not_use(
    client: TestClient, mixed: dict[str, str], backend: str
) -> None:
    page = client.get("/officer/queue", params={"priority": "whenever", "category": "electrical", "q": "Alder"})
    assert page.status_code == 200
    assert "There is no priority called “whenever”" in page.text
    assert '<option value="electrical" selected>' in page.text
    assert 'value="Alder"' in page.text
    assert set(REF.findall(page.text)) == {mixed["web"]}
    # Every control has a label.
    for control in re.findall(r'<(?:select|input)[^>]*\bid="(f-[a-z]+)"', page.text):
        assert f'<label for="{control}"' in page.text


def test_nothing_found_is_said_plainly(client: TestClient, officer: OfficerHandle, backend: str) -> None:
    page = client.get("/officer/queue", params={"q": "Nowhere Road"})
    assert page.status_code == 200 and "No open repairs match these filters" in page.text


def test_what_residents_wrote_is_escaped(
    client: TestClient, factory: Factory, officer: OfficerHandle, backend: str
) -> None:
    res = factory.resident()
    report(client, res, description='The tap <script>alert("x")</script> drips & leaks')
    page = client.get("/officer/queue")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text


def test_keyset_paging_shows_every_ticket_once_in_order(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    res = factory.resident()
    for i in range(55):
        back_dated(ctx, res, days=i % 4, description=f"Tap number {i} drips")
    with transaction(ctx.sessions) as s:
        expected = list(s.scalars(select(Ticket.reference).order_by(Ticket.due_at, Ticket.id)))
    first = client.get("/officer/queue")
    first_refs = REF.findall(first.text)
    assert len(first_refs) == 50
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert next_link and "First page" not in first.text
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    second_refs = REF.findall(second.text)
    assert first_refs + second_refs == expected
    assert 'rel="next"' not in second.text and "First page" in second.text
    # A damaged page link falls back to the first page and says so.
    broken = client.get("/officer/queue", params={"after": "not-a-cursor"})
    assert "That page link was not valid" in broken.text and REF.findall(broken.text) == first_refs


def test_block_and_estate_filters_suggest_the_names_there_are(
    client: TestClient, mixed: dict[str, str], backend: str
) -> None:
    page = client.get("/officer/queue").text
    blocks = re.search(r'<datalist id="blocks">(.*?)</datalist>', page, re.S)
    estates = re.search(r'<datalist id="estates">(.*?)</datalist>', page, re.S)
    assert blocks and estates
    assert re.findall(r'<option value="([^"]+)">', blocks.group(1)) == ["Alder House", "Birch House"]
    assert re.findall(r'<option value="([^"]+)">', estates.group(1)) == ["Castlehaven Estate", "Maitland Park Estate"]
