"""The complaints pages in the officer workspace, through the real app on both databases: signed-in officers
only; the list by the deadline that runs next with its time left or how late; a complaint's page with the
resident's words, its repair and history; acknowledge, answer and escalate as CSRF-protected forms that tell
the resident through the outbox, do nothing the second time, and are refused plainly when the complaint's
state does not allow them; and the reports page's new figures."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from repairs.auth.models import Role
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.notifications.models import Notification
from repairs.tickets.models import Complaint, ComplaintEvent
from tests.factories import Factory, OfficerHandle, ResidentHandle
from tests.workspace_client import RecordPage, assert_done, csrf_of, sign_in, signed_in_officer, text_of


def report(client: TestClient, res: ResidentHandle) -> str:
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                    json={"category": "plumbing", "description": "The kitchen tap drips", "location": "kitchen"})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def complain(client: TestClient, res: ResidentHandle, text: str, ticket: str | None = None) -> str:
    """A stage 1 complaint as the bot makes it."""
    body: dict[str, str] = {"text": text} | ({"ticket_reference": ticket} if ticket else {})
    r = client.post("/api/v1/complaints", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def complaint(ctx: ServiceContext, ref: str) -> Complaint:
    with transaction(ctx.sessions) as s:
        return s.scalars(select(Complaint).where(Complaint.reference == ref)).one()


def events(ctx: ServiceContext, ref: str) -> list[ComplaintEvent]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(ComplaintEvent).join(Complaint).where(Complaint.reference == ref)
                              .order_by(ComplaintEvent.id)))


def outbox(ctx: ServiceContext, ref: str) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return [n for n in s.scalars(select(Notification).order_by(Notification.id))
                if (n.payload or {}).get("complaint") == ref]


def move_clock(ctx: ServiceContext, ref: str, days: int) -> None:
    """Make the complaint `days` older, as if received then (for deadlines that have passed)."""
    with transaction(ctx.sessions) as s:
        c = s.scalars(select(Complaint).where(Complaint.reference == ref)).one()
        shift = timedelta(days=days)
        c.created_at -= shift
        c.acknowledge_by -= shift
        c.respond_by -= shift


@pytest.fixture
def officer(client: TestClient, factory: Factory) -> OfficerHandle:
    return signed_in_officer(client, factory)


class Page(RecordPage):
    """A complaint's page as the signed-in officer's browser has it."""

    def __init__(self, client: TestClient, ref: str, query: str = "") -> None:
        super().__init__(client, "/officer/complaints", ref, query)


def done(response: Response, ref: str, what: str) -> None:
    assert_done(response, f"/officer/complaints/{ref}", what)


def test_signed_out_the_pages_send_you_to_sign_in_and_the_forms_do_nothing(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    ref = complain(client, factory.resident(), "Nobody came")
    listing = client.get("/officer/complaints", follow_redirects=False)
    assert listing.status_code == 303 and listing.headers["location"] == "/officer/login?next=%2Fofficer%2Fcomplaints"
    page = client.get(f"/officer/complaints/{ref}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/officer/login?next=")
    posted = client.post(f"/officer/complaints/{ref}/acknowledge", data={"csrf_token": "x", "stage": "1"},
                         follow_redirects=False)
    assert posted.status_code == 401
    assert complaint(ctx, ref).acknowledged_at is None and outbox(ctx, ref) == []


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = complain(client, factory.resident(), "Nobody came")
    for action, fields in (("acknowledge", {"stage": "1"}), ("answer", {"stage": "1", "text": "Sorry"}),
                           ("escalate", {"stage": "1"})):
        missing = client.post(f"/officer/complaints/{ref}/{action}", data=fields, follow_redirects=False)
        assert missing.status_code == 403 and "Form refused" in missing.text, action
        forged = client.post(f"/officer/complaints/{ref}/{action}", data={**fields, "csrf_token": "0" * 64},
                             follow_redirects=False)
        assert forged.status_code == 403, action
    assert complaint(ctx, ref).acknowledged_at is None
    assert [e.kind for e in events(ctx, ref)] == ["received"] and outbox(ctx, ref) == []


def test_the_list_shows_open_complaints_by_the_deadline_that_runs_next(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    res = factory.resident()
    ticket = report(client, res)
    fresh = complain(client, res, "The plumber never came", ticket)
    overdue = complain(client, res, "Nobody answers the phone")
    move_clock(ctx, overdue, 30)  # both its deadlines have passed
    answered = complain(client, res, "Rude operative")
    page = Page(client, answered)
    done(page.post("acknowledge", stage="1"), answered, "acknowledged")
    done(Page(client, answered).post("answer", stage="1", text="We are sorry."), answered, "answered")

    queue = client.get("/officer/queue")
    assert '<a href="/officer/complaints">Complaints</a>' in queue.text  # in the navigation

    listing = client.get("/officer/complaints")
    assert listing.status_code == 200 and listing.headers["cache-control"] == "no-store"
    text = text_of(listing.text)
    assert text.index(overdue) < text.index(fresh) and answered not in text
    assert "2 open complaints" in text
    assert "Acknowledge: " in text and " late" in text and " left" in text  # how late, and how long left
    assert f'href="/officer/tickets/{ticket}"' in listing.text and "No repair named" in text
    assert "Stage 1" in text and "The plumber never came" in text and "Waiting to be acknowledged" in text
    assert 'aria-current="page">Complaints</a>' in listing.text

    only_answered = text_of(client.get("/officer/complaints?show=answered").text)
    assert answered in only_answered and fresh not in only_answered and "Answered " in only_answered
    everything = text_of(client.get("/officer/complaints?show=all").text)
    assert all(ref in everything for ref in (fresh, overdue, answered))
    assert everything.index(overdue) < everything.index(fresh) < everything.index(answered)
    odd = client.get("/officer/complaints?show=closed")
    assert odd.status_code == 200 and "There is no “closed” choice" in text_of(odd.text)


def test_acknowledge_answer_and_escalate_from_the_page_tell_the_resident(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    res = factory.resident(name="Grace Hopper")
    ticket = report(client, res)
    ref = complain(client, res, "Nobody came <b>twice</b>", ticket)

    page = Page(client, ref)
    for expected in ("Complaint " + ref, "Stage 1", "Nobody came <b>twice</b>", ticket, "Grace Hopper",
                     "Waiting to be acknowledged", "runs next", "left", "Complaint received", "Resident",
                     "Nothing sent to the resident about this complaint yet"):
        assert expected in page.text, expected
    assert "<b>twice</b>" not in page.html  # escaped
    assert 'action="/officer/complaints/' + ref + '/answer"' not in page.html  # only once acknowledged
    assert f'href="/officer/tickets/{ticket}"' in page.html

    done(page.post("acknowledge", stage="1"), ref, "acknowledged")
    # The same form again (a double click): nothing more happens, and the page says so.
    again = page.post("acknowledge", stage="1")
    done(again, ref, "already_acknowledged")
    acked = complaint(ctx, ref)
    assert acked.acknowledged_at is not None
    assert ctx.policy.calendar.working_days_between(acked.acknowledged_at, acked.respond_by) == 10
    [note] = outbox(ctx, ref)
    assert note.kind == "complaint_acknowledged" and note.resident_id == res.id
    assert ref in note.payload["text"] and "stage 1" in note.payload["text"]
    shown = Page(client, ref, "?done=already_acknowledged")
    assert "had already been acknowledged" in shown.text and "Acknowledged (stage 1) — Test Officer" in shown.text
    assert "complaint acknowledged" in shown.text  # what was sent, with its delivery state

    # A blank answer is refused next to the form; the words of a good one go to the resident as written.
    blank = shown.post("answer", stage="1", text="   ")
    assert blank.status_code == 422 and "Write the answer" in text_of(blank.text)
    too_long = shown.post("answer", stage="1", text="x" * 4001)
    assert too_long.status_code == 422 and "x" * 4001 in too_long.text  # what was typed is kept
    answer = "We are sorry.\nA plumber will come on Thursday morning."
    done(shown.post("answer", stage="1", text=answer), ref, "answered")
    done(shown.post("answer", stage="1", text=answer), ref, "already_answered")
    notes = outbox(ctx, ref)
    assert [n.kind for n in notes] == ["complaint_acknowledged", "complaint_answered"]
    assert answer in notes[1].payload["text"] and notes[1].ticket_id is not None
    after = Page(client, ref)
    assert "Answered" in after.text and answer.replace("\n", " ") in after.text
    assert "Escalate to stage 2" in after.text

    # The resident is not satisfied: stage 2, with its own clocks, and they are told.
    done(after.post("escalate", stage="1", reason="The plumber did not come on Thursday"), ref, "escalated")
    done(after.post("escalate", stage="1"), ref, "already_escalated")
    esc = complaint(ctx, ref)
    assert (esc.stage, esc.status, esc.acknowledged_at, esc.response) == (2, "open", None, None)
    assert ctx.policy.calendar.working_days_between(esc.escalated_at, esc.acknowledge_by) == 5
    assert outbox(ctx, ref)[-1].kind == "complaint_escalated"
    stage_2 = Page(client, ref)
    assert "Stage 2" in stage_2.text and "Escalated to stage 2" in stage_2.text
    assert "The plumber did not come on Thursday" in stage_2.text
    assert "Waiting to be acknowledged" in stage_2.text
    # Stage 1's answer stays in the history after the row has moved on.
    assert "A plumber will come on Thursday morning." in stage_2.text

    done(stage_2.post("acknowledge", stage="2"), ref, "acknowledged")
    done(Page(client, ref).post("answer", stage="2", text="We have replaced the tap."), ref, "answered")
    final = Page(client, ref)
    assert "Escalate to stage 2" not in final.text and "Housing Ombudsman" in final.text
    assert [e.kind for e in events(ctx, ref)] == ["received", "acknowledged", "answered", "escalated",
                                                  "acknowledged", "answered"]
    assert {e.actor_id for e in events(ctx, ref)[1:]} == {str(officer.id)}
    assert "Housing Ombudsman" in outbox(ctx, ref)[-1].payload["text"]
    # The repair's page links to the complaint, and lists what was sent about it with its other updates.
    ticket_page = client.get(f"/officer/tickets/{ticket}")
    assert f'href="/officer/complaints/{ref}"' in ticket_page.text
    assert f"{ref} (stage 2, answered)" in text_of(ticket_page.text)
    assert "complaint answered" in text_of(ticket_page.text)


def test_steps_the_complaint_does_not_allow_are_refused_plainly(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = complain(client, factory.resident(), "Nobody came")
    page = Page(client, ref)
    early = page.post("answer", stage="1", text="Sorry")
    assert early.status_code == 409 and "Acknowledge the complaint first" in text_of(early.text)
    too_soon = page.post("escalate", stage="1")
    assert too_soon.status_code == 409 and "answer stage 1 first" in text_of(too_soon.text)
    stale = page.post("acknowledge", stage="2")
    assert stale.status_code == 409 and "changed after this page was shown" in text_of(stale.text)
    odd = page.post("acknowledge", stage="x")
    assert odd.status_code == 422 and "out of date" in text_of(odd.text)
    assert [e.kind for e in events(ctx, ref)] == ["received"] and outbox(ctx, ref) == []

    missing = client.get("/officer/complaints/CP-ZZZZ99")
    assert missing.status_code == 404 and "Complaint not found" in missing.text
    posted = client.post("/officer/complaints/CP-ZZZZ99/acknowledge",
                         data={"csrf_token": csrf_of(page.html), "stage": "1"})
    assert posted.status_code == 404


def test_the_reports_page_shows_acknowledged_and_answered_figures(
    awkward_day: datetime, client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    supervisor = factory.officer(role=Role.SUPERVISOR)
    assert sign_in(client, supervisor.email, supervisor.password).status_code == 303
    ref = complain(client, factory.resident(), "Nobody came")
    page = Page(client, ref)
    done(page.post("acknowledge", stage="1"), ref, "acknowledged")
    done(Page(client, ref).post("answer", stage="1", text="Sorry"), ref, "answered")

    # The reports count days in London: just after midnight in summer, UTC's date is still yesterday's.
    today = ctx.policy.calendar.local_date(utcnow()).isoformat()
    reports = client.get(f"/officer/reports?from={today}&to={today}")
    assert reports.status_code == 200, reports.text
    text = text_of(reports.text)
    assert "Acknowledged 1 (0 late)" in text and "Answered 1 (0 late)" in text and "Taken to stage 2 0" in text
    assert f'href="/officer/complaints/{ref}"' in reports.text
