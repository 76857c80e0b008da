"""Merging a duplicate report into the ticket for the same job, through the officer JSON API: the
duplicate ends as merged with a pointer, both timelines record it with the officer, its resident is told
and hears the main ticket's news from then on, and the main ticket keeps the earlier clocks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from repairs.database import transaction, utcnow
from repairs.notifications.models import Notification
from repairs.tickets.models import Appointment, AppointmentStatus, Status, Ticket
from tests.test_api_officer import QUEUE, detail, is_problem, make_ticket, report, set_status


def merge(client, officer, duplicate: str, into: str):
    return client.post(f"{QUEUE}/{duplicate}/merge", headers=officer.headers, json={"into": into})


def outbox_for(ctx, resident_id: int) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(Notification).where(Notification.resident_id == resident_id)
                              .order_by(Notification.id)))


def ticket(ctx, ref: str) -> Ticket:
    with transaction(ctx.sessions) as s:
        return s.scalars(select(Ticket).where(Ticket.reference == ref)).one()


def test_a_duplicate_from_another_household_is_merged_linked_and_told(client, factory, ctx):
    officer = factory.officer()
    first, second = factory.resident(), factory.resident()
    main = report(client, first, category="lifts", description="The lift is stuck on the 4th floor",
                  location_type="communal", location="lift")["reference"]
    dup = report(client, second, category="lifts", description="Lift not working again",
                 location_type="communal", location="lift")["reference"]

    r = merge(client, officer, dup, main)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ticket"]["status"] == "merged"
    assert body["ticket"]["merged_into"] == main
    assert body["allowed_next"] == []  # nothing moves a merged ticket on
    into = [e for e in body["events"] if e["kind"] == "merged_into"]
    assert len(into) == 1
    assert into[0]["data"] == {"into": main}
    assert (into[0]["from_status"], into[0]["to_status"]) == ("reported", "merged")
    assert into[0]["actor_type"] == "officer" and into[0]["actor_id"] == str(officer.id)

    main_view = detail(client, officer, main)
    merged_from = [e for e in main_view["events"] if e["kind"] == "merged_from"]
    assert len(merged_from) == 1
    assert merged_from[0]["data"]["from"] == dup
    assert merged_from[0]["data"]["households_linked"] == 1
    assert merged_from[0]["actor_id"] == str(officer.id)
    assert main_view["linked_households"] == 1

    # The duplicate's resident is told at once, and hears the main ticket's news from then on.
    told = outbox_for(ctx, second.id)
    assert [n.kind for n in told] == ["merged"]
    assert main in told[0].payload["text"] and dup in told[0].payload["text"]
    assert set_status(client, officer, main, "triaged").status_code == 200
    assert set_status(client, officer, main, "in_progress").status_code == 200
    assert set_status(client, officer, main, "completed").status_code == 200
    second_rows = outbox_for(ctx, second.id)
    first_rows = outbox_for(ctx, first.id)
    assert [n.kind for n in second_rows] == ["merged", "status_triaged", "status_in_progress", "status_completed"]
    assert [n.kind for n in first_rows] == ["status_triaged", "status_in_progress", "status_completed"]
    # The "Is it fixed?" buttons rate the main ticket: only its own resident gets them.
    assert "buttons" in first_rows[-1].payload
    assert "buttons" not in second_rows[-1].payload
    keys = [n.delivery_key for n in first_rows + second_rows]
    assert len(set(keys)) == len(keys)

    # The merged duplicate is out of the queue; the resident sees where it went.
    queue = client.get(QUEUE, headers=officer.headers).json()["items"]
    assert dup not in [row["reference"] for row in queue]
    own = client.get(f"/api/v1/tickets/{dup}", headers=second.headers).json()
    assert own["status"] == "merged" and own["merged_into"] == main


def test_the_main_ticket_keeps_the_earlier_clock_and_the_more_urgent_priority(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    earlier = utcnow() - timedelta(days=3)
    dup = make_ticket(ctx, resident_id=res.id, category="plumbing",
                      description="Water pouring through the ceiling, cannot stop it", now=earlier)
    main = make_ticket(ctx, resident_id=res.id, category="plumbing", description="Kitchen tap drips")
    before_dup, before_main = ticket(ctx, dup), ticket(ctx, main)
    assert before_dup.priority.value == "emergency" and before_main.priority.value != "emergency"

    r = merge(client, officer, dup, main)
    assert r.status_code == 200, r.text
    after = ticket(ctx, main)
    assert after.due_at == before_dup.due_at
    assert after.reported_at == before_dup.reported_at
    assert after.priority.value == "emergency" and after.emergency
    event = next(e for e in detail(client, officer, main)["events"] if e["kind"] == "merged_from")
    assert {"due_at", "reported_at", "priority", "emergency"} <= set(event["data"]["brought_forward"])
    # Same resident on both: nobody new is linked, but they are still told their report was joined.
    assert event["data"]["households_linked"] == 0
    assert [n.kind for n in outbox_for(ctx, res.id)] == ["merged"]


def test_a_merged_duplicate_gives_back_its_booked_seat(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    main = report(client, res)["reference"]
    dup = report(client, factory.resident())["reference"]
    slot = client.get(f"{QUEUE}/{dup}/slots", headers=officer.headers).json()[0]["slot_id"]
    r = client.post(f"{QUEUE}/{dup}/appointments", headers=officer.headers, json={"slot_id": slot})
    assert r.status_code == 200, r.text
    assert merge(client, officer, dup, main).status_code == 200
    with transaction(ctx.sessions) as s:
        statuses = s.scalars(select(Appointment.status).join(Ticket).where(Ticket.reference == dup)).all()
    assert statuses == [AppointmentStatus.CANCELLED]


def test_merges_that_make_no_sense_are_refused_and_change_nothing(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    a = report(client, res)["reference"]
    b = report(client, factory.resident())["reference"]
    done = report(client, factory.resident())["reference"]
    for status in ("triaged", "completed"):
        assert set_status(client, officer, done, status).status_code == 200

    is_problem(merge(client, officer, a, a), 409, "same_ticket")
    is_problem(merge(client, officer, a, done), 409, "main_closed")
    is_problem(merge(client, officer, done, a), 409, "closed_ticket")
    is_problem(merge(client, officer, a, "HR-NOSUCH1"), 422, "unknown_ticket")
    is_problem(merge(client, officer, "HR-NOSUCH1", a), 404, "not_found")
    is_problem(client.post(f"{QUEUE}/{a}/merge", headers=officer.headers, json={}), 422)
    assert ticket(ctx, a).status == Status.REPORTED
    assert not [e for e in detail(client, officer, a)["events"] if e["kind"].startswith("merge")]

    # Once merged, a duplicate cannot be merged again, nor can anything be merged into it, nor can its
    # status be changed.
    assert merge(client, officer, b, a).status_code == 200
    is_problem(merge(client, officer, b, a), 409, "closed_ticket")
    c = report(client, factory.resident())["reference"]
    is_problem(merge(client, officer, c, b), 409, "main_closed")
    is_problem(set_status(client, officer, b, "triaged"), 409, "invalid_transition")


def test_merge_needs_an_officer(client, factory):
    res = factory.resident()
    a, b = report(client, res)["reference"], report(client, res)["reference"]
    assert client.post(f"{QUEUE}/{a}/merge", json={"into": b}).status_code == 401
    assert client.post(f"{QUEUE}/{a}/merge", headers=res.headers, json={"into": b}).status_code == 403


def test_a_merged_in_home_report_is_followed_without_the_other_households_words(client, factory):
    officer = factory.officer()
    upstairs, downstairs = factory.resident(), factory.resident()
    main = report(client, upstairs, description="Water pours through my bathroom floor, I am disabled")["reference"]
    dup = report(client, downstairs, description="Water is coming through my ceiling")["reference"]
    assert merge(client, officer, dup, main).status_code == 200
    items = {t["reference"]: t for t in client.get("/api/v1/tickets", headers=downstairs.headers).json()["items"]}
    assert items[dup]["merged_into"] == main and items[dup]["linked"] is False
    linked = items[main]
    assert linked["linked"] is True
    assert linked["description"] == "" and "disabled" not in linked["summary"] and linked["location"] is None
    assert linked["appointment"] is None, "a visit to another home is not this household's to know"

