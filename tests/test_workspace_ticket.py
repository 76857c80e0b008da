"""The ticket page in the officer workspace, through the real app on both databases: everything the
resident told the bot, photos for signed-in officers only, the timeline with who did what, the resident's
tenure and vulnerability, the clocks; and each action as a CSRF-protected form that goes through the
service, lands in the audit trail with the officer, redirects back with a message, or is refused plainly
with what was typed kept."""

from __future__ import annotations

import re
import uuid
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlalchemy import select

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.residents.models import Tenure
from repairs.tickets.models import Appointment, AppointmentStatus, Ticket, TicketEvent
from tests.factories import Factory, OfficerHandle, ResidentHandle
from tests.workspace_client import RecordPage, assert_done, csrf_of, signed_in_officer, text_of

SLOT = re.compile(r'<option value="(\d{4}-\d{2}-\d{2}:[a-z]+)"')


def report(client: TestClient, res: ResidentHandle, **body: object) -> str:
    payload = {"category": "plumbing", "description": "The kitchen tap drips all the time", "location": "kitchen",
               **body}
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=payload)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def events(ctx: ServiceContext, ref: str, kind: str | None = None) -> list[TicketEvent]:
    with transaction(ctx.sessions) as s:
        query = select(TicketEvent).join(Ticket).where(Ticket.reference == ref).order_by(TicketEvent.id)
        if kind is not None:
            query = query.where(TicketEvent.kind == kind)
        return list(s.scalars(query))


def outbox(ctx: ServiceContext, ref: str) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(Notification).join(Ticket, Ticket.id == Notification.ticket_id)
                              .where(Ticket.reference == ref).order_by(Notification.id)))


def ticket(ctx: ServiceContext, ref: str) -> Ticket:
    with transaction(ctx.sessions) as s:
        return s.scalars(select(Ticket).where(Ticket.reference == ref)).one()


@pytest.fixture
def officer(client: TestClient, factory: Factory) -> OfficerHandle:
    return signed_in_officer(client, factory)


class Page(RecordPage):
    """The ticket page as the signed-in officer's browser has it."""

    def __init__(self, client: TestClient, ref: str, query: str = "") -> None:
        super().__init__(client, "/officer/tickets", ref, query)


def done(response: Response, ref: str, what: str) -> None:
    assert_done(response, f"/officer/tickets/{ref}", what)


# -- what the page shows ---------------------------------------------------------------------------------


def test_the_page_shows_what_the_resident_said_who_they_are_and_the_clocks(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    res = factory.resident(tenure=Tenure.TENANT, vulnerabilities=["elderly", "respiratory"], name="Ada Lovelace")
    ref = report(client, res, category="damp_mould", description="Black mould spreading on the bedroom wall",
                 location="bedroom", access_notes="Key safe by the door, code from the office",
                 availability="Weekday mornings", channel="telegram")
    r = client.post(f"/api/v1/tickets/{ref}/information", headers=res.headers,
                    json={"text": "It is worse behind the wardrobe"})
    assert r.status_code == 200, r.text

    page = Page(client, ref)
    t = page.text
    for expected in (
        ref, "Damp and mould", "Black mould spreading on the bedroom wall", "bedroom",
        "Key safe by the door, code from the office", "Weekday mornings",
        "Ada Lovelace", "Tenant", res.tenancy_reference, "elderly", "respiratory", "telegram",
        "Awaab's Law", "Investigate", "runs next", "left", "Not yet",
        "Resident added information", "It is worse behind the wardrobe",
        "No chat was kept with this report",
    ):
        assert expected in t, expected
    assert page.response.headers["cache-control"] == "no-store"
    # Only the changes the lifecycle allows from "reported" are offered.
    offered = re.findall(r'<option value="([a-z_]+)"', page.html.split('id="status-to"')[1].split("</select>")[0])
    assert offered == ["triaged", "scheduled", "in_progress", "cancelled"]


def test_the_chat_that_produced_the_report_is_shown_to_officers(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    chat = [
        {"by": "resident", "text": "water is coming through my kitchen ceiling"},
        {"by": "assistant", "text": "I'm sorry. Is it coming from the flat above?"},
        {"by": "resident", "text": "Yes, log it <b>now</b>"},
    ]
    ref = report(client, factory.resident(), conversation=chat)
    page = Page(client, ref)
    assert "The chat that produced the report" in page.text and "No chat was kept" not in page.text
    assert ("Resident: water is coming through my kitchen ceiling Assistant: I'm sorry. Is it coming from the "
            "flat above? Resident: Yes, log it <b>now</b>") in page.text
    assert "<b>now</b>" not in page.html  # escaped
    [kept] = events(ctx, ref, "conversation")
    assert kept.data == {"lines": chat}
    assert "conversation" not in [e.kind for e in events(ctx, ref)[:1]]  # "created" comes first

    # Bounded like every other field: too many lines, or a line too long, is refused.
    res = factory.resident()
    for bad in ([{"by": "resident", "text": "x"}] * 31, [{"by": "resident", "text": "x" * 1001}],
                [{"by": "officer", "text": "x"}]):
        r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                        json={"category": "plumbing", "description": "The tap drips", "conversation": bad})
        assert r.status_code == 422, r.text


def test_an_emergency_says_so_in_words_with_its_make_safe_clock(
    client: TestClient, factory: Factory, officer: OfficerHandle, backend: str
) -> None:
    ref = report(client, factory.resident(), category="gas", description="I can smell gas near the cooker")
    page = Page(client, ref)
    assert "Emergency" in page.text and "(emergency)" in page.html.split("</title>")[0]
    assert "Make safe" in page.text
    assert 'class="ticket-head ticket-head--emergency"' in page.html


def test_what_residents_wrote_is_escaped(client: TestClient, factory: Factory, officer: OfficerHandle,
                                          backend: str) -> None:
    ref = report(client, factory.resident(), description='<script>alert("x")</script> tap <b>drips</b>')
    page = Page(client, ref)
    assert "<script>alert" not in page.html and "<b>drips" not in page.html
    assert '<script>alert("x")</script> tap <b>drips</b>' in page.text


def jpeg() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def test_photos_are_shown_to_signed_in_officers_only(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    res = factory.resident()
    ref = report(client, res)
    r = client.post(f"/api/v1/tickets/{ref}/photos", headers=res.headers,
                    files={"file": ("leak.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 201, r.text
    photo_id = r.json()["id"]

    page = Page(client, ref)
    url = f"/officer/tickets/{ref}/photos/{photo_id}"
    assert f'src="{url}"' in page.html and 'alt="Photo 1 sent by the resident' in page.html
    shown = client.get(url)
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["cache-control"] == "no-store"
    assert Image.open(BytesIO(shown.content)).size == (64, 48)
    assert client.get(f"/officer/tickets/{ref}/photos/{'0' * 32}").status_code == 404
    other = report(client, factory.resident())
    assert client.get(f"/officer/tickets/{other}/photos/{photo_id}").status_code == 404  # not on that ticket

    with TestClient(client.app) as stranger:
        away = stranger.get(url, follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"].startswith("/officer/login?next=")
        # Nor does the resident API's bearer token open it.
        assert stranger.get(url, headers=res.headers, follow_redirects=False).status_code == 303


def test_an_unknown_reference_is_a_404_page(client: TestClient, officer: OfficerHandle, backend: str) -> None:
    r = client.get("/officer/tickets/hr-zzzz99")
    assert r.status_code == 404
    assert "Repair not found" in r.text and "HR-ZZZZ99" in r.text
    assert "text/html" in r.headers["content-type"]
    queue = client.get("/officer/queue")
    posted = client.post("/officer/tickets/HR-ZZZZ99/notes", data={"csrf_token": csrf_of(queue), "text": "x"})
    assert posted.status_code == 404 and "Repair not found" in posted.text
    assert client.get("/officer/tickets/not a reference").status_code == 404


# -- actions ---------------------------------------------------------------------------------------------


def test_assign_to_me_then_to_a_colleague_and_a_trade(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    colleague = factory.officer()
    ref = report(client, factory.resident())
    done(Page(client, ref).post("assign", officer_id="me"), ref, "assigned")
    page = Page(client, ref, "?done=assigned")
    assert "Assignment saved." in page.text
    assert "Assigned to: Test Officer" in page.text
    assert ticket(ctx, ref).assigned_officer_id == officer.id

    done(page.post("assign", officer_id=str(colleague.id), trade="multi_trade"), ref, "assigned")
    after = ticket(ctx, ref)
    assert (after.assigned_officer_id, after.trade) == (colleague.id, "multi_trade")
    recorded = events(ctx, ref, "assigned")
    assert [(e.actor_type, e.actor_id) for e in recorded] == [("officer", str(officer.id))] * 2
    assert recorded[1].data == {"officer_id": colleague.id, "trade": "multi_trade"}

    refused = Page(client, ref).post("assign", officer_id="999999")
    assert refused.status_code == 409
    assert "no active officer" in text_of(refused.text)
    refused = Page(client, ref).post("assign", officer_id="", trade="")
    assert refused.status_code == 409 and "Choose an officer, a trade, or both." in text_of(refused.text)
    assert Page(client, ref).post("assign", trade="astronaut").status_code == 422
    assert len(events(ctx, ref, "assigned")) == 2


def test_status_changes_only_along_the_lifecycle_and_tell_the_resident(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = report(client, factory.resident())
    done(Page(client, ref).post("status", status="triaged", note="Looked at the photos"), ref, "status")
    change = events(ctx, ref, "status_changed")[-1]
    assert (change.from_status, change.to_status, change.actor_id) == ("reported", "triaged", str(officer.id))
    assert change.data == {"note": "Looked at the photos"}
    assert [n.kind for n in outbox(ctx, ref)] == ["status_triaged"]

    # "closed" is not a next step from "triaged": refused in words, the choice kept, nothing written.
    refused = Page(client, ref).post("status", status="closed", note="Too soon")
    assert refused.status_code == 409
    shown = text_of(refused.text)
    assert "cannot become closed" in shown and "That was not done" in shown
    assert "Too soon" in refused.text
    assert ticket(ctx, ref).status.value == "triaged"
    assert len(events(ctx, ref, "status_changed")) == 1
    assert Page(client, ref).post("status", status="fixed-ish").status_code == 422


def test_book_then_move_an_appointment_and_a_taken_slot_is_refused(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = report(client, factory.resident())
    page = Page(client, ref)
    slots = SLOT.findall(page.html.split('id="appointment-slot"')[1].split("</select>")[0])
    assert len(slots) >= 2
    done(page.post("appointment", slot_id=slots[0]), ref, "booked")
    page = Page(client, ref)
    assert "Move the appointment" in page.text and ticket(ctx, ref).status.value == "scheduled"
    done(page.post("appointment", slot_id=slots[1]), ref, "booked")
    kinds = [e.kind for e in events(ctx, ref)]
    assert kinds.count("appointment_booked") == 1 and kinds.count("appointment_moved") == 1
    assert [n.kind for n in outbox(ctx, ref)] == ["appointment", "appointment"]
    with transaction(ctx.sessions) as s:
        booked = s.scalars(select(Appointment).join(Ticket).where(Ticket.reference == ref,
                                                                   Appointment.status == AppointmentStatus.BOOKED))
        assert [f"{a.slot_date}:{a.period}" for a in booked] == [slots[1]]

    # The page offered a slot; by the time the officer books it, other tickets have taken every seat.
    other = report(client, factory.resident())
    page = Page(client, other)
    wanted = SLOT.findall(page.html.split('id="appointment-slot"')[1].split("</select>")[0])[0]
    capacity = ctx.slots.capacity_for("plumber")
    for _ in range(capacity):
        rival = report(client, factory.resident())
        r = client.post(f"/api/v1/officer/tickets/{rival}/appointments", headers=officer.headers,
                        json={"slot_id": wanted})
        assert r.status_code == 200, r.text
    refused = page.post("appointment", slot_id=wanted)
    assert refused.status_code == 409
    assert "no longer free" in text_of(refused.text)
    assert not events(ctx, other, "appointment_booked")


def test_internal_notes_are_recorded_and_a_blank_one_is_refused(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = report(client, factory.resident())
    done(Page(client, ref).post("notes", text="Rang twice, no answer."), ref, "note")
    [note] = events(ctx, ref, "note")
    assert note.data == {"text": "Rang twice, no answer."} and note.actor_id == str(officer.id)
    assert outbox(ctx, ref) == []  # the resident never sees notes
    page = Page(client, ref)
    assert "Rang twice, no answer." in page.text and "internal" in page.text

    refused = page.post("notes", text="   ")
    assert refused.status_code == 422 and "Write the note" in text_of(refused.text)
    assert len(events(ctx, ref, "note")) == 1


def test_a_message_goes_to_the_resident_through_the_outbox(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = report(client, factory.resident())
    words = "Our plumber will bring a new washer on Tuesday."
    done(Page(client, ref).post("messages", text=words), ref, "message")
    [row] = outbox(ctx, ref)
    assert row.kind == "officer_message" and words in row.payload["text"] and ref in row.payload["text"]
    [sent] = events(ctx, ref, "message_sent")
    assert sent.actor_id == str(officer.id)
    page = Page(client, ref)
    assert words in page.text and "pending" in page.text  # the conversation shows it and its delivery


def test_a_report_from_outside_the_assistant_has_nobody_to_message(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    from tests.test_api_officer import make_ticket

    ref = make_ticket(ctx, resident_id=None)
    page = Page(client, ref)
    assert "there is nobody to message" in page.text and 'id="message-text"' not in page.html
    assert "A Member" in page.text  # the reporter's name, as Open311 clients give it
    refused = page.post("messages", text="Hello")
    assert refused.status_code == 409 and "nobody to message" in text_of(refused.text)
    assert outbox(ctx, ref) == []


def test_merging_a_duplicate_from_the_page(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    main = report(client, factory.resident(), category="lifts", description="Lift stuck on floor 4",
                  location_type="communal", location="lift")
    dup = report(client, factory.resident(name="Grace Hopper"), category="lifts",
                 description="The lift is broken again", location_type="communal", location="lift")

    refused = Page(client, dup).post("merge", into="hr-zzzz99")
    assert refused.status_code == 422 and "There is no repair HR-ZZZZ99" in text_of(refused.text)
    assert 'value="hr-zzzz99"' in refused.text  # what was typed is kept
    refused = Page(client, dup).post("merge", into=dup)
    assert refused.status_code == 409 and "cannot be merged into itself" in text_of(refused.text)

    done(Page(client, dup).post("merge", into=main.lower()), dup, "merged")
    page = Page(client, dup)
    assert f"This report was merged into {main}" in page.text
    assert 'id="form-merge"' not in page.html and "does not change status any more" in page.text
    main_page = Page(client, main)
    assert "A duplicate was merged into this ticket" in main_page.text and dup in main_page.text
    assert "1 other household hears this ticket's updates: Grace Hopper" in main_page.text
    assert [e.actor_id for e in events(ctx, dup, "merged_into")] == [str(officer.id)]
    assert [e.actor_id for e in events(ctx, main, "merged_from")] == [str(officer.id)]


def test_households_who_said_me_too_are_counted_on_the_page(
    client: TestClient, factory: Factory, officer: OfficerHandle, backend: str
) -> None:
    first = factory.resident(block="Alder House")
    second = factory.resident(block="Alder House", name="Mary Seacole")
    ref = report(client, first, category="lifts", description="The lift is stuck with its doors open",
                 location_type="communal", location="lift")
    assert client.post(f"/api/v1/shared-faults/{ref}/me-too", headers=second.headers).status_code == 200
    page = Page(client, ref)
    assert "1 other household hears this ticket's updates: Mary Seacole" in page.text
    assert "Another household said it affects them too" in page.text and "Households affected 2" in page.text


def test_recording_the_investigation_starts_the_follow_on_clocks(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = report(client, factory.resident(), category="damp_mould", description="Black mould on the bedroom wall")
    done(Page(client, ref).post("investigated"), ref, "investigated")
    after = ticket(ctx, ref)
    assert after.investigated_at is not None and after.awaab_summary_by is not None
    page = Page(client, ref)
    assert "Written summary" in page.text and "Safety work" in page.text and 'id="form-investigated"' not in page.html


# -- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action,fields", [
    ("assign", {"officer_id": "me"}),
    ("status", {"status": "triaged"}),
    ("notes", {"text": "x"}),
    ("messages", {"text": "x"}),
    ("merge", {"into": "HR-AAAAAA"}),
    ("investigated", {}),
    ("appointment", {"slot_id": "2030-01-07:am"}),
])
def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str,
    action: str, fields: dict[str, str],
) -> None:
    ref = report(client, factory.resident())
    before = len(events(ctx, ref))
    missing = client.post(f"/officer/tickets/{ref}/{action}", data=fields, follow_redirects=False)
    assert missing.status_code == 403 and "Form refused" in missing.text
    forged = client.post(f"/officer/tickets/{ref}/{action}", data={**fields, "csrf_token": "0" * 64},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert len(events(ctx, ref)) == before and outbox(ctx, ref) == []


def test_signed_out_the_forms_do_nothing(client: TestClient, factory: Factory, ctx: ServiceContext,
                                         backend: str) -> None:
    ref = report(client, factory.resident())
    r = client.post(f"/officer/tickets/{ref}/notes", data={"text": "x", "csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 401
    page = client.get(f"/officer/tickets/{ref}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/officer/login?next=%2Fofficer%2Ftickets%2F{ref}"
    assert len(events(ctx, ref)) == 1
