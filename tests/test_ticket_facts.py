"""Tickets record the facts and the rule that gave their priority, on both databases: reported with facts and
answers through the API, shown to officers as "Priority from rule X because: ...", and refused (422) when the
facts do not fit the vocabulary."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from repairs_common.facts import AFFECTED_CODES, QUALIFIERS, Facts
from sqlalchemy import select

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.policy.fact_wording import CODE_WORDS, QUALIFIER_WORDS, describe_facts
from repairs.tickets.models import Priority, Status, Ticket, TicketEvent
from tests.factories import Factory, ResidentHandle
from tests.workspace_client import RecordPage, signed_in_officer

LEAK = {"affected": [{"code": "water_leak", "p": 0.92}], "location": {"value": "in_home", "p": 0.85}}


def create(client: TestClient, res: ResidentHandle, **body: object) -> Any:
    payload = {"category": "plumbing", "description": "the pipe under my sink is leaking", **body}
    return client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=payload)


def stored(ctx: ServiceContext, ref: str) -> Ticket:
    with transaction(ctx.sessions) as s:
        return s.scalars(select(Ticket).where(Ticket.reference == ref)).one()


def test_a_ticket_reported_with_facts_and_an_answer_records_them_and_the_rule(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    r = create(client, factory.resident(), facts=LEAK, answers={"contained": False})
    assert r.status_code == 201, r.text
    assert r.json()["priority"] == "emergency" and r.json()["emergency"] is True
    ticket = stored(ctx, r.json()["reference"])
    assert (ticket.priority, ticket.priority_rule, ticket.priority_path) == (
        Priority.EMERGENCY, "uncontained_leak", "facts")
    assert ticket.facts == {"affected": [{"code": "water_leak", "p": 0.92}],
                            "contained": {"value": False, "p": 1.0}, "location": {"value": "in_home", "p": 0.85}}
    assert "fact_rule:uncontained_leak" in ticket.priority_reasons
    with transaction(ctx.sessions) as s:
        created = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                      TicketEvent.kind == "created")).one()
    assert (created.data["rule"], created.data["path"]) == ("uncontained_leak", "facts")


def test_officers_read_the_rule_path_and_facts_through_the_api(
    client: TestClient, factory: Factory, backend: str
) -> None:
    ref = create(client, factory.resident(), facts=LEAK, answers={"contained": False}).json()["reference"]
    officer = factory.officer()
    body = client.get(f"/api/v1/officer/tickets/{ref}", headers=officer.headers).json()
    assert (body["priority_rule"], body["priority_path"]) == ("uncontained_leak", "facts")
    assert body["facts"]["contained"] == {"value": False, "p": 1.0}


def test_the_answer_decides_a_contained_leak_is_routine(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    r = create(client, factory.resident(), facts=LEAK, answers={"contained": True})
    assert r.status_code == 201, r.text
    ticket = stored(ctx, r.json()["reference"])
    assert (ticket.priority, ticket.emergency, ticket.priority_rule) == (Priority.ROUTINE, False, "leak_contained")


def test_the_record_puts_someone_at_risk_without_a_question(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    res = factory.resident(vulnerabilities=["elderly"])
    r = create(client, res, category="heating", description="the boiler has stopped",
               facts={"affected": [{"code": "heating", "p": 0.9}], "extent": {"value": "total", "p": 0.7}})
    ticket = stored(ctx, r.json()["reference"])
    assert (ticket.priority, ticket.priority_rule) == (Priority.EMERGENCY, "no_heat_at_risk")
    assert ticket.facts is not None and ticket.facts["at_risk"] == {"value": True, "p": 1.0}


def test_without_facts_the_phrase_rules_decide_and_say_so(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    r = create(client, factory.resident(), description="a pipe has burst and water is pouring through the ceiling")
    ticket = stored(ctx, r.json()["reference"])
    assert (ticket.priority_rule, ticket.priority_path, ticket.facts) == ("flooding", "phrases", None)


def test_a_reopened_ticket_keeps_deciding_from_its_facts(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    from repairs.tickets import service

    r = create(client, factory.resident(), category="plumbing", description="toilet blocked",
               facts={"affected": [{"code": "toilet", "p": 0.9}]}, answers={"only_toilet": True})
    ref = r.json()["reference"]
    with transaction(ctx.sessions) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        actor = service.Actor(type="officer", id="1")
        for status in (Status.TRIAGED, Status.COMPLETED, Status.REOPENED):
            service.change_status(s, ctx.policy, ticket, status, actor=actor, notify=False)
        # Reopened: a fresh 24-hour target, as the facts still say it is the only toilet.
        assert (ticket.due_at - ticket.updated_at).total_seconds() == pytest.approx(24 * 3600, abs=5)


def test_a_reopen_survives_facts_recorded_in_an_older_vocabulary(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    from repairs.tickets import service

    ref = create(client, factory.resident(), facts=LEAK, answers={"contained": True}).json()["reference"]
    with transaction(ctx.sessions) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        ticket.facts = {"affected": [{"code": "flood_v0", "p": 1.0}]}
        actor = service.Actor(type="officer", id="1")
        for status in (Status.TRIAGED, Status.COMPLETED, Status.REOPENED):
            service.change_status(s, ctx.policy, ticket, status, actor=actor, notify=False)
        assert ticket.status is Status.REOPENED


@pytest.mark.parametrize("bad", [
    {"facts": {"affected": [{"code": "flood"}]}},
    {"facts": {"affected": [{"code": "water_leak"}], "contained": {"value": "a bit"}}},
    {"facts": {"affected": [{"code": "water_leak"}]}, "answers": {"contained": "a bit"}},
    {"facts": {"affected": [{"code": "water_leak"}]}, "answers": {"postcode": True}},
    {"answers": {"contained": True}},
    {"facts": ["water_leak"]},
    {"facts": {"affected": 5}},
    {"facts": {"affected": [{"code": "water_leak", "p": "high"}]}},
])
def test_facts_outside_the_vocabulary_are_refused(
    client: TestClient, factory: Factory, ctx: ServiceContext, bad: dict[str, Any], backend: str
) -> None:
    r = create(client, factory.resident(), **bad)
    assert r.status_code == 422, r.text
    with transaction(ctx.sessions) as s:
        assert s.scalars(select(Ticket)).first() is None


def test_the_workspace_says_which_rule_gave_the_priority_and_why(
    client: TestClient, factory: Factory, backend: str
) -> None:
    ref = create(client, factory.resident(), facts=LEAK, answers={"contained": False}).json()["reference"]
    plain = create(client, factory.resident(), description="a pipe has burst and water is pouring through the "
                   "ceiling").json()["reference"]
    signed_in_officer(client, factory)
    page = RecordPage(client, "/officer/tickets", ref)
    assert ("Priority from rule uncontained_leak because: a water leak, not contained, in the home"
            in page.text), page.text
    other = RecordPage(client, "/officer/tickets", plain)
    assert "Priority from phrase rule flooding (the assistant sent no facts)" in other.text


def test_every_fact_has_words_for_officers() -> None:
    assert set(CODE_WORDS) == AFFECTED_CODES
    assert set(QUALIFIER_WORDS) == set(QUALIFIERS)
    from repairs_common.facts import BOOLEAN_QUALIFIERS, CHOICE_QUALIFIERS

    for name in BOOLEAN_QUALIFIERS:
        assert set(QUALIFIER_WORDS[name]) == {True, False}, name
    for name, values in CHOICE_QUALIFIERS.items():
        assert set(QUALIFIER_WORDS[name]) == set(values), name
    said = describe_facts(Facts.from_labels({"affected": ["lift"], "extent": "total", "cannot_use_stairs": True,
                                             "current": False}))
    assert said == "a lift out of order, lost completely, someone cannot use the stairs, over now"
