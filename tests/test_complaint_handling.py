"""Working a complaint through the service on both databases: the Complaint Handling Code's deadlines on
the real working-day calendar (weekends, bank holidays), each step on record with the officer, the resident
told through the outbox once per step, and only the steps the complaint's state allows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from repairs.complaints import handling
from repairs.complaints.listing import Show, complaint_list, find_complaint
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.tickets.models import Complaint, ComplaintEvent, Ticket
from repairs.tickets.service import Actor, create_complaint
from tests.factories import Factory, ResidentHandle

OFFICER = Actor(type="officer", id="7")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report(client: TestClient, res: ResidentHandle) -> str:
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                    json={"category": "plumbing", "description": "The kitchen tap drips", "location": "kitchen"})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def complain(ctx: ServiceContext, res: ResidentHandle, *, at: datetime, ticket_ref: str | None = None) -> str:
    with transaction(ctx.sessions) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.reference == ticket_ref)).one() if ticket_ref else None
        made = create_complaint(s, ctx.policy, resident_id=res.id, ticket=ticket, text="Nobody came, twice",
                                actor=Actor(type="resident", id=str(res.id)), now=at)
        return made.reference


def step(ctx: ServiceContext, ref: str, action: str, **kwargs: object) -> handling.Outcome:
    with transaction(ctx.sessions) as s:
        complaint = find_complaint(s, ref, lock=True)
        assert complaint is not None
        if action == "acknowledge":
            return handling.acknowledge(s, ctx.policy, complaint, actor=OFFICER, **kwargs)
        if action == "answer":
            return handling.answer(s, complaint, actor=OFFICER, **kwargs)
        return handling.escalate(s, ctx.policy, complaint, actor=OFFICER, **kwargs)


def complaint(ctx: ServiceContext, ref: str) -> Complaint:
    with transaction(ctx.sessions) as s:
        return s.scalars(select(Complaint).where(Complaint.reference == ref)).one()


def history(ctx: ServiceContext, ref: str) -> list[ComplaintEvent]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(ComplaintEvent).join(Complaint).where(Complaint.reference == ref)
                              .order_by(ComplaintEvent.id)))


def sent(ctx: ServiceContext, ref: str) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return [n for n in s.scalars(select(Notification).order_by(Notification.id))
                if (n.payload or {}).get("complaint") == ref]


def test_stage_1_clocks_step_over_the_weekend_and_the_spring_bank_holiday(
    ctx: ServiceContext, factory: Factory, backend: str
) -> None:
    res = factory.resident()
    # Friday 22 May 2026, 10am BST; Monday 25 May is the spring bank holiday.
    ref = complain(ctx, res, at=utc(2026, 5, 22, 9))
    made = complaint(ctx, ref)
    # Day 0 is the Friday; Tue 26, Wed 27, Thu 28, Fri 29, Mon 1 June: the end of Monday 1 June, BST.
    assert made.acknowledge_by == utc(2026, 6, 1, 22, 59, 59)
    # Until acknowledged, the answer is counted from the acknowledgement deadline: 10 working days on.
    assert made.respond_by == utc(2026, 6, 15, 22, 59, 59)
    assert [(e.kind, e.actor_type, e.actor_id, e.stage) for e in history(ctx, ref)] == [
        ("received", "resident", str(res.id), 1)]

    # Acknowledged on the Tuesday after the holiday: the answer is due 10 working days after that day.
    assert step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 5, 26, 8)).done == "acknowledged"
    acked = complaint(ctx, ref)
    assert acked.acknowledged_at == utc(2026, 5, 26, 8)
    assert acked.respond_by == utc(2026, 6, 9, 22, 59, 59)  # 27, 28, 29 May, 1-5 June, 8, 9 June
    assert acked.acknowledge_by == utc(2026, 6, 1, 22, 59, 59)  # kept: what the acknowledgement was held to
    assert ctx.policy.calendar.working_days_between(utc(2026, 5, 26, 8), acked.respond_by) == 10


def test_stage_2_clocks_over_christmas(ctx: ServiceContext, factory: Factory, backend: str) -> None:
    res = factory.resident()
    ref = complain(ctx, res, at=utc(2026, 12, 1, 10))
    step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 12, 2, 10))
    step(ctx, ref, "answer", stage=1, text="We are sorry: a plumber will come on Monday.", now=utc(2026, 12, 10, 10))
    # Escalated on Friday 18 December: Christmas Day (Friday) and Boxing Day's substitute (Monday 28) are not
    # working days, so the 5 working days are 21, 22, 23, 24 and 29 December.
    assert step(ctx, ref, "escalate", stage=1, reason="The plumber did not come", now=utc(2026, 12, 18, 12)).done \
        == "escalated"
    esc = complaint(ctx, ref)
    assert (esc.stage, esc.status, esc.escalated_at) == (2, "open", utc(2026, 12, 18, 12))
    assert esc.acknowledge_by == utc(2026, 12, 29, 23, 59, 59)
    assert ctx.policy.calendar.working_days_between(esc.acknowledge_by, esc.respond_by) == 20
    assert esc.acknowledged_at is None and esc.responded_at is None and esc.response is None

    # Acknowledged on Christmas Eve: 20 working days from then, with New Year's Day left out.
    step(ctx, ref, "acknowledge", stage=2, now=utc(2026, 12, 24, 10))
    assert complaint(ctx, ref).respond_by == utc(2027, 1, 26, 23, 59, 59)


def test_each_step_is_on_record_and_tells_the_resident_once(
    client: TestClient, ctx: ServiceContext, factory: Factory, backend: str
) -> None:
    res = factory.resident()
    ticket_ref = report(client, res)
    ref = complain(ctx, res, at=utc(2026, 11, 2, 10), ticket_ref=ticket_ref)

    step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 11, 3, 10))
    # A second acknowledgement (a double click) changes nothing and sends nothing.
    assert step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 11, 3, 10, 1)).done == "already_acknowledged"
    step(ctx, ref, "answer", stage=1, text="We have booked the plumber for Thursday.", now=utc(2026, 11, 5, 10))
    assert step(ctx, ref, "answer", stage=1, text="Again", now=utc(2026, 11, 5, 10, 1)).done == "already_answered"
    step(ctx, ref, "escalate", stage=1, now=utc(2026, 11, 20, 10))
    assert step(ctx, ref, "escalate", stage=1, now=utc(2026, 11, 20, 10, 1)).done == "already_escalated"
    step(ctx, ref, "acknowledge", stage=2, now=utc(2026, 11, 23, 10))
    step(ctx, ref, "answer", stage=2, text="We have replaced the tap.", now=utc(2026, 12, 1, 10))

    events = history(ctx, ref)
    assert [(e.kind, e.stage) for e in events] == [
        ("received", 1), ("acknowledged", 1), ("answered", 1), ("escalated", 2), ("acknowledged", 2),
        ("answered", 2)]
    assert all((e.actor_type, e.actor_id) == ("officer", "7") for e in events[1:])
    # Each step keeps the deadline it was held to, so stage 1's record outlives the escalation.
    assert events[1].due_at == utc(2026, 11, 9, 23, 59, 59)
    assert events[2].due_at == utc(2026, 11, 17, 23, 59, 59) and events[2].data == {
        "response": "We have booked the plumber for Thursday."}
    final = complaint(ctx, ref)
    assert (final.stage, final.status, final.response) == (2, "answered", "We have replaced the tap.")

    notes = sent(ctx, ref)
    assert [n.kind for n in notes] == ["complaint_acknowledged", "complaint_answered", "complaint_escalated",
                                       "complaint_acknowledged", "complaint_answered"]
    # To the resident, with the repair's messages (in order, and on its page), keyed by the event.
    assert {(n.resident_id, n.ticket_id is not None) for n in notes} == {(res.id, True)}
    assert [n.delivery_key for n in notes] == [f"complaint:{final.id}:event:{e.id}" for e in events[1:]]
    texts = [str(n.payload["text"]) for n in notes]
    assert ref in texts[0] and "stage 1" in texts[0] and "by Tuesday 17 November" in texts[0]
    assert "We have booked the plumber for Thursday." in texts[1] and "stage 2" in texts[1]
    assert "now at stage 2" in texts[2] and "20 working days" in texts[2]
    assert "We have replaced the tap." in texts[4] and "Housing Ombudsman" in texts[4]


def test_only_the_steps_the_state_allows(ctx: ServiceContext, factory: Factory, backend: str) -> None:
    res = factory.resident()
    ref = complain(ctx, res, at=utc(2026, 11, 2, 10))

    with pytest.raises(handling.ComplaintActionRefused) as refused:
        step(ctx, ref, "answer", stage=1, text="Sorry", now=utc(2026, 11, 3, 10))
    assert refused.value.code == "not_acknowledged"
    with pytest.raises(handling.ComplaintActionRefused) as refused:
        step(ctx, ref, "escalate", stage=1, now=utc(2026, 11, 3, 10))
    assert refused.value.code == "not_answered"
    with pytest.raises(handling.ComplaintActionRefused) as refused:
        step(ctx, ref, "acknowledge", stage=2, now=utc(2026, 11, 3, 10))
    assert refused.value.code == "stage_changed"
    assert [e.kind for e in history(ctx, ref)] == ["received"] and sent(ctx, ref) == []

    step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 11, 3, 10))
    step(ctx, ref, "answer", stage=1, text="Sorry", now=utc(2026, 11, 4, 10))
    step(ctx, ref, "escalate", stage=1, now=utc(2026, 11, 5, 10))
    # A stage 1 form sent after the escalation cannot act on stage 2.
    with pytest.raises(handling.ComplaintActionRefused) as refused:
        step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 11, 5, 11))
    assert refused.value.code == "stage_changed"
    step(ctx, ref, "acknowledge", stage=2, now=utc(2026, 11, 6, 10))
    step(ctx, ref, "answer", stage=2, text="Final", now=utc(2026, 11, 9, 10))
    with pytest.raises(handling.ComplaintActionRefused) as refused:
        step(ctx, ref, "escalate", stage=2, now=utc(2026, 11, 10, 10))
    assert refused.value.code == "final_stage" and "Housing Ombudsman" in refused.value.message


def test_events_are_append_only(ctx: ServiceContext, factory: Factory, backend: str) -> None:
    ref = complain(ctx, factory.resident(), at=utc(2026, 11, 2, 10))
    with pytest.raises(RuntimeError, match="append-only"), transaction(ctx.sessions) as s:
        event = s.scalars(select(ComplaintEvent).join(Complaint).where(Complaint.reference == ref)).one()
        event.kind = "answered"


def test_the_list_puts_the_soonest_running_deadline_first(ctx: ServiceContext, factory: Factory,
                                                          backend: str) -> None:
    res = factory.resident()
    early = complain(ctx, res, at=utc(2026, 11, 2, 10))  # acknowledge by 9 Nov
    later = complain(ctx, res, at=utc(2026, 11, 4, 10))  # acknowledge by 11 Nov
    # Acknowledged: its clock is now the answer, due 17 November, after both acknowledgement deadlines.
    acked = complain(ctx, res, at=utc(2026, 10, 26, 10))
    step(ctx, acked, "acknowledge", stage=1, now=utc(2026, 11, 3, 10))
    done = complain(ctx, res, at=utc(2026, 10, 1, 10))
    step(ctx, done, "acknowledge", stage=1, now=utc(2026, 10, 2, 10))
    step(ctx, done, "answer", stage=1, text="Sorry", now=utc(2026, 10, 5, 10))

    with transaction(ctx.sessions) as s:
        open_ones, open_total = complaint_list(s, Show.OPEN, limit=10)
        answered, answered_total = complaint_list(s, Show.ANSWERED, limit=10)
        everything, total = complaint_list(s, Show.ALL, limit=2)
        assert [c.complaint.reference for c in open_ones] == [early, later, acked] and open_total == 3
        assert [c.complaint.reference for c in answered] == [done] and answered_total == 1
        assert [c.complaint.reference for c in everything] == [early, later] and total == 4
        assert handling.next_deadline(open_ones[2].complaint) == ("answer", utc(2026, 11, 17, 23, 59, 59))
        assert handling.next_deadline(answered[0].complaint) is None
        assert find_complaint(s, early.lower().replace("-", " ")) is not None
        assert find_complaint(s, "HR-" + early[3:]) is None  # a repair's reference is not a complaint's


def test_report_figures_count_each_stage_from_what_happened(
    ctx: ServiceContext, factory: Factory, backend: str
) -> None:
    """The supervisors' report (repairs/reports/feedback.py) over PERIOD, 23 March to 5 April 2026; Good Friday
    (3 April) and Easter Monday (6 April) are bank holidays. Worked out by hand in the comments."""
    from repairs.reports.feedback import complaints
    from tests.report_data import PERIOD

    res = factory.resident()
    # A: acknowledged and answered on time at stage 1; escalated, and stage 2 acknowledged late (due 2 April).
    a = complain(ctx, res, at=utc(2026, 3, 23, 10))
    step(ctx, a, "acknowledge", stage=1, now=utc(2026, 3, 24, 10))
    step(ctx, a, "answer", stage=1, text="Sorry", now=utc(2026, 3, 25, 10))
    step(ctx, a, "escalate", stage=1, now=utc(2026, 3, 26, 10))
    step(ctx, a, "acknowledge", stage=2, now=utc(2026, 4, 9, 10))
    # B: acknowledged late (due 31 March), then answered in time.
    b = complain(ctx, res, at=utc(2026, 3, 24, 10))
    step(ctx, b, "acknowledge", stage=1, now=utc(2026, 4, 8, 10))
    step(ctx, b, "answer", stage=1, text="Sorry", now=utc(2026, 4, 9, 10))
    # C: never acknowledged: past its acknowledgement (1 April) and its answer deadline (17 April).
    c = complain(ctx, res, at=utc(2026, 3, 25, 10))
    # D: acknowledged on time, never answered: the answer was due on 9 April.
    d = complain(ctx, res, at=utc(2026, 3, 23, 11))
    step(ctx, d, "acknowledge", stage=1, now=utc(2026, 3, 24, 10))
    # F: acknowledged on time, answered late (due 14 April).
    f = complain(ctx, res, at=utc(2026, 3, 26, 10))
    step(ctx, f, "acknowledge", stage=1, now=utc(2026, 3, 27, 10))
    step(ctx, f, "answer", stage=1, text="Sorry", now=utc(2026, 4, 20, 10))
    # E: received the day after the period: in none of it, however late its acknowledgement.
    e = complain(ctx, res, at=utc(2026, 4, 6, 10))
    step(ctx, e, "acknowledge", stage=1, now=utc(2026, 4, 20, 10))

    with transaction(ctx.sessions) as s:
        comp = complaints(s, PERIOD, now=utc(2026, 4, 21, 12))
    assert comp.total == 5 and comp.by_stage == {1: 4, 2: 1}
    assert comp.open == 3  # A (at stage 2), C, D
    assert comp.open_past_acknowledge_by == 1  # C: A's stage 2 and D are acknowledged
    assert comp.open_past_respond_by == 2  # C and D
    assert (comp.acknowledged, comp.acknowledged_late) == (5, 2)  # A twice, B, D, F; late: A at stage 2, B
    assert (comp.answered, comp.answered_late) == (3, 1)  # A, B, F; late: F
    assert comp.escalated == 1
    rows = {row.reference: row for row in comp.soonest}
    assert set(rows) == {a, b, c, d, f}
    assert rows[b].acknowledged_late and not rows[b].answered_late
    assert rows[f].answered_late and not rows[f].acknowledged_late
    assert rows[a].stage == 2 and rows[a].acknowledged_late  # the row shows the stage being worked
    assert rows[c].acknowledged_at is None and rows[c].responded_at is None


def _api_complaint(client: TestClient, res: ResidentHandle, text: str, ticket_ref: str | None):
    body: dict[str, str] = {"text": text}
    if ticket_ref:
        body["ticket_reference"] = ticket_ref
    return client.post("/api/v1/complaints", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                       json=body)


def test_complaining_again_about_a_repair_after_the_answer_takes_it_to_stage_2(
        client: TestClient, ctx: ServiceContext, factory: Factory, backend: str) -> None:
    res = factory.resident()
    ticket, other_ticket = report(client, res), report(client, res)
    made = _api_complaint(client, res, "Nobody came, twice", ticket)
    assert made.status_code == 201 and made.json()["stage"] == 1
    ref = made.json()["reference"]

    # Before the answer, a second complaint about the same repair is a complaint of its own.
    second = _api_complaint(client, res, "And the phone line hung up on me", ticket)
    assert second.status_code == 201 and second.json()["reference"] != ref
    step(ctx, ref, "acknowledge", stage=1)
    step(ctx, ref, "answer", stage=1, text="We are sorry: an operative will come on Monday.")

    again = _api_complaint(client, res, "Still not fixed and nobody came on Monday", ticket)
    assert again.status_code == 200, again.text
    assert (again.json()["reference"], again.json()["stage"]) == (ref, 2)
    now = complaint(ctx, ref)
    assert (now.stage, now.status) == (2, "open") and now.escalated_at is not None
    escalated = [e for e in history(ctx, ref) if e.kind == "escalated"]
    assert len(escalated) == 1 and escalated[0].actor_type == "resident"
    assert escalated[0].data["reason"] == "Still not fixed and nobody came on Monday"
    assert [n.kind for n in sent(ctx, ref)] == ["complaint_acknowledged", "complaint_answered"], \
        "the chat answers the resident there and then: no second message through the outbox"

    # About another repair, or with no repair named: a new stage 1 complaint.
    assert _api_complaint(client, res, "The boiler too", other_ticket).json()["stage"] == 1
    assert _api_complaint(client, res, "And the caretaker was rude", None).json()["stage"] == 1
    # Asked again at stage 2: a new complaint (stage 2 is final; the officer sees both).
    assert _api_complaint(client, res, "Still waiting", ticket).json()["reference"] != ref


def test_an_answer_long_ago_is_not_reopened_by_a_new_complaint(
        client: TestClient, ctx: ServiceContext, factory: Factory, backend: str) -> None:
    res = factory.resident()
    ticket = report(client, res)
    ref = complain(ctx, res, at=utc(2026, 1, 5, 10), ticket_ref=ticket)
    step(ctx, ref, "acknowledge", stage=1, now=utc(2026, 1, 6, 10))
    step(ctx, ref, "answer", stage=1, text="Fixed on the 9th.", now=utc(2026, 1, 9, 10))
    later = _api_complaint(client, res, "It has broken again", ticket)
    assert later.status_code == 201 and later.json()["stage"] == 1 and later.json()["reference"] != ref
    assert complaint(ctx, ref).stage == 1
