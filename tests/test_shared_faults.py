"""Shared faults: an open communal fault in the resident's block is offered, "me too" links the household,
officers see how many households are affected and every one of them hears the ticket's news."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.tickets.models import TicketEvent

LIFT = {"category": "lifts", "description": "The lift is stuck on the ground floor with its doors open",
        "location_type": "communal", "location": "lift"}


def report(client, res, body=LIFT) -> str:
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return r.json()["reference"]


def faults(client, res, category="lifts") -> list[dict]:
    r = client.get("/api/v1/shared-faults", headers=res.headers, params={"category": category})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def me_too(client, res, ref: str):
    return client.post(f"/api/v1/shared-faults/{ref}/me-too", headers=res.headers)


def test_a_neighbours_open_lift_fault_is_offered_and_me_too_links_the_household(client, factory, ctx):
    first, second, third = (factory.resident(block="Alder House") for _ in range(3))
    ref = report(client, first)
    [offered] = faults(client, second)
    assert (offered["reference"], offered["households"], offered["category"]) == (ref, 1, "lifts")
    assert set(offered) == {"reference", "category", "summary", "location", "status_text", "reported_at",
                            "due_text", "households"}, "nothing about who reported it"
    joined = me_too(client, second, ref)
    assert joined.status_code == 200, joined.text
    assert (joined.json()["linked"], joined.json()["households"]) == (True, 2)
    again = me_too(client, second, ref).json()
    assert (again["linked"], again["households"]) == (False, 2), "saying it twice changes nothing"
    assert me_too(client, first, ref).json()["linked"] is False, "the reporter is already affected"
    assert me_too(client, third, ref).json()["households"] == 3
    with transaction(ctx.sessions) as s:
        kinds = s.scalars(select(TicketEvent.kind).where(TicketEvent.kind == "household_affected")).all()
    assert len(kinds) == 2


def test_only_open_communal_faults_of_the_same_block_and_category(client, factory):
    officer = factory.officer()
    me, neighbour, elsewhere = (factory.resident(block="Birch Court"), factory.resident(block="Birch Court"),
                                factory.resident(block="Cedar Point"))
    other_block = report(client, elsewhere)
    in_home = report(client, neighbour, {"category": "lifts", "description": "My stairlift is broken",
                                         "location_type": "in_home", "location": "hallway"})
    assert faults(client, me) == []
    assert faults(client, me, category="communal") == []
    lights = report(client, neighbour, {"category": "communal", "description": "Stair lights out on floor 3",
                                        "location_type": "communal", "location": "stairwell"})
    assert [f["reference"] for f in faults(client, me, category="communal")] == [lights]
    for ref in (other_block, in_home):
        assert me_too(client, me, ref).status_code == 404, "another block's or a private repair: not found"
    for status in ("triaged", "cancelled"):
        r = client.post(f"/api/v1/officer/tickets/{lights}/status", headers=officer.headers, json={"status": status})
        assert r.status_code == 200, r.text
    assert faults(client, me, category="communal") == [], "a closed fault is not offered"
    assert me_too(client, me, lights).status_code == 404


def test_every_affected_household_hears_the_news(client, factory, ctx):
    officer = factory.officer()
    reporter, neighbour = factory.resident(block="Alder House"), factory.resident(block="Alder House")
    ref = report(client, reporter)
    assert me_too(client, neighbour, ref).status_code == 200
    for status in ("triaged", "completed"):
        r = client.post(f"/api/v1/officer/tickets/{ref}/status", headers=officer.headers, json={"status": status})
        assert r.status_code == 200, r.text
    with transaction(ctx.sessions) as s:
        rows = s.execute(select(Notification.resident_id, Notification.kind, Notification.payload)
                         .where(Notification.kind == "status_completed")).all()
    by_resident = {resident_id: payload for resident_id, _, payload in rows}
    assert set(by_resident) == {reporter.id, neighbour.id}
    assert "buttons" in by_resident[reporter.id] and "buttons" not in by_resident[neighbour.id], (
        "only the reporter is asked to rate or reopen")


def test_unverified_chats_and_bad_references(client, factory):
    res = factory.resident()
    assert client.get("/api/v1/shared-faults", params={"category": "lifts"}).status_code == 401
    assert me_too(client, res, "not-a-ref").status_code == 404
    assert client.get("/api/v1/shared-faults", headers=res.headers).status_code == 422


def test_a_linked_household_follows_the_fault_but_sees_nothing_its_neighbour_said_and_changes_nothing(
        client, factory):
    officer = factory.officer()
    reporter, neighbour, stranger = (factory.resident(block="Alder House") for _ in range(3))
    ref = report(client, reporter)
    r = client.post(f"/api/v1/tickets/{ref}/photos", headers={**reporter.headers},
                    files={"file": ("lift.png", _png(), "image/png")})
    assert r.status_code == 201, r.text
    assert me_too(client, neighbour, ref).status_code == 200

    [listed] = client.get("/api/v1/tickets", headers=neighbour.headers).json()["items"]
    own_only = client.get("/api/v1/tickets", headers=neighbour.headers, params={"include_linked": "false"})
    assert own_only.status_code == 200 and own_only.json()["items"] == [], "choosing a repair to act on: own only"
    seen = client.get(f"/api/v1/tickets/{ref}", headers=neighbour.headers)
    assert seen.status_code == 200, seen.text
    for view in (listed, seen.json()):
        assert view["reference"] == ref and view["linked"] is True
        assert view["description"] == "" and view["photos"] == []
        assert not (view["can_cancel"] or view["can_reopen"] or view["can_rate"])
    assert client.get(f"/api/v1/tickets/{ref}", headers=reporter.headers).json()["linked"] is False
    assert client.get(f"/api/v1/tickets/{ref}", headers=stranger.headers).status_code == 404, "not linked: not found"
    assert client.get("/api/v1/tickets", headers=stranger.headers).json()["items"] == []

    # Following is all: the reporter's repair is not the neighbour's to cancel, add to or reopen.
    assert client.post(f"/api/v1/tickets/{ref}/cancel", headers=neighbour.headers, json={}).status_code == 404
    assert client.post(f"/api/v1/tickets/{ref}/information", headers=neighbour.headers,
                       json={"text": "It is on floor 2 now"}).status_code == 404
    for status in ("triaged", "completed"):
        assert client.post(f"/api/v1/officer/tickets/{ref}/status", headers=officer.headers,
                           json={"status": status}).status_code == 200
    assert client.post(f"/api/v1/tickets/{ref}/reopen", headers=neighbour.headers, json={}).status_code == 404
    assert client.get(f"/api/v1/tickets/{ref}", headers=neighbour.headers).json()["status"] == "completed"


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_the_assistant_says_whose_report_a_linked_repair_is() -> None:
    from actions.texts import describe_ticket

    base = {"reference": "HR-3VRG8E", "category_name": "Lifts", "status_text": "Booked: an appointment is arranged.",
            "status": "scheduled", "due_text": "by Friday 27 November", "appointment": None}
    assert "neighbour" not in describe_ticket(base)
    assert describe_ticket({**base, "linked": True}).startswith(
        "HR-3VRG8E (lifts, reported by a neighbour; you're linked to it): Booked")


def test_a_photo_from_a_linked_household_never_goes_to_its_neighbours_report(live_server, factory) -> None:
    import asyncio

    import httpx

    from bot.photo_intake import Found, photo_target
    from bot.repairs_client import RepairsClient
    from tests.conftest import SERVICE_TOKEN

    reporter, neighbour = factory.resident(block="Alder House"), factory.resident(block="Alder House")
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        r = http.post("/api/v1/tickets", headers={**reporter.headers, "Idempotency-Key": uuid.uuid4().hex}, json=LIFT)
        assert r.status_code == 201, r.text
        assert http.post(f"/api/v1/shared-faults/{r.json()['reference']}/me-too",
                         headers=neighbour.headers).status_code == 200

    async def run() -> None:
        repairs = RepairsClient(live_server.url, SERVICE_TOKEN, timeout=5)
        try:
            assert await repairs.open_tickets(neighbour.chat) == []
            assert (await photo_target(repairs, neighbour.chat)).found == Found.NO_REPAIR
            assert [t.reference for t in await repairs.open_tickets(reporter.chat)] == [r.json()["reference"]]
        finally:
            await repairs.aclose()

    asyncio.run(run())
