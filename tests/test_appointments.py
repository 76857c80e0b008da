"""Appointment slots: what is offered, booking and moving, full slots, and booking under concurrency."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.tickets.models import Appointment, AppointmentStatus, Status, Ticket

PROBLEM = "application/problem+json"
LONDON = ZoneInfo("Europe/London")
TICKETS = "/api/v1/officer/tickets"


# -- helpers -----------------------------------------------------------------------------------------


def report(client, res, *, category="plumbing", description="The kitchen tap drips all the time") -> str:
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                    json={"category": category, "description": description, "location": "kitchen"})
    assert r.status_code == 201, r.text
    return r.json()["reference"]


def is_problem(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def slots(client, officer, ref: str, **params) -> list[dict]:
    r = client.get(f"{TICKETS}/{ref}/slots", headers=officer.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def book(client, officer, ref: str, slot_id: str):
    return client.post(f"{TICKETS}/{ref}/appointments", headers=officer.headers, json={"slot_id": slot_id})


def appointments(ctx, ref: str) -> list[Appointment]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(
            select(Appointment).join(Ticket).where(Ticket.reference == ref).order_by(Appointment.id)
        ))


def booked_in(ctx, trade: str, slot_id: str) -> list[Appointment]:
    day, _, period = slot_id.partition(":")
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(Appointment).where(
            Appointment.trade == trade, Appointment.slot_date == day, Appointment.period == period,
            Appointment.status == AppointmentStatus.BOOKED,
        )))


def outbox(ctx, ref: str) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(
            select(Notification).join(Ticket, Ticket.id == Notification.ticket_id)
            .where(Ticket.reference == ref).order_by(Notification.id)
        ))


def ticket_status(ctx, ref: str) -> Status:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(Ticket.status).where(Ticket.reference == ref))


def free_of(offer: list[dict], slot_id: str) -> int | None:
    return next((s["free"] for s in offer if s["slot_id"] == slot_id), None)


def set_trade(client, officer, ref: str, trade: str) -> None:
    r = client.post(f"{TICKETS}/{ref}/assign", headers=officer.headers, json={"trade": trade})
    assert r.status_code == 200, r.text


# -- what is offered ------------------------------------------------------------------------------------


def test_slots_are_the_next_working_days_in_the_future_with_full_capacity(awkward_day, client, factory, ctx):
    officer = factory.officer()
    ref = report(client, factory.resident())
    calendar = ctx.policy.calendar
    capacity = ctx.slots.capacity_for("plumber")
    now = datetime.now(UTC)

    offer = slots(client, officer, ref, days=30)
    days = sorted({date.fromisoformat(s["date"]) for s in offer})
    assert len(offer) == 30 * len(ctx.slots.periods)
    for s in offer:
        day = date.fromisoformat(s["date"])
        assert calendar.is_working_day(day), s
        assert day.weekday() < 5
        assert day not in calendar.bank_holidays(day.year)
        starts = datetime.fromisoformat(s["starts_at"])
        ends = datetime.fromisoformat(s["ends_at"])
        assert starts > now
        assert ends > starts
        period = ctx.slots.periods[s["period"]]
        assert starts.astimezone(LONDON).time() == period.starts
        assert ends.astimezone(LONDON).time() == period.ends
        assert starts.astimezone(LONDON).date() == day
        assert s["label"] == period.label
        assert s["slot_id"] == f"{s['date']}:{s['period']}"
        assert s["free"] == capacity

    # Exactly the 30 working days after the first working day from today: none skipped, none extra.
    day0 = calendar.next_working_day(datetime.now(LONDON).date())
    expected = []
    d = day0
    while len(expected) < 30:
        d = calendar.next_working_day(d, inclusive=False)
        expected.append(d)
    assert days == expected
    # Every non-working day inside the span (weekends, bank holidays) is left out.
    span = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    assert [x for x in span if not calendar.is_working_day(x)] == [x for x in span if x not in days]


def test_default_offer_is_ten_working_days(client, factory):
    officer = factory.officer()
    ref = report(client, factory.resident())
    offer = slots(client, officer, ref)
    assert len({s["date"] for s in offer}) == 10


@pytest.mark.parametrize("days", [0, 61, "many"])
def test_slot_horizon_is_validated(client, factory, days):
    officer = factory.officer()
    ref = report(client, factory.resident())
    is_problem(client.get(f"{TICKETS}/{ref}/slots", headers=officer.headers, params={"days": days}), 422)


def test_slots_for_an_unknown_ticket_is_404(client, factory):
    officer = factory.officer()
    is_problem(client.get(f"{TICKETS}/HR-222222/slots", headers=officer.headers), 404)


def test_free_counts_are_capacity_minus_booked_per_trade(client, factory, ctx):
    officer = factory.officer()
    capacity = ctx.slots.capacity_for("plumber")
    plumbing = [report(client, factory.resident()) for _ in range(4)]
    electrical = report(client, factory.resident(), category="electrical",
                        description="The hallway light switch is loose")
    offer = slots(client, officer, plumbing[0])
    first, second = offer[0]["slot_id"], offer[1]["slot_id"]

    for ref in plumbing[:2]:
        assert book(client, officer, ref, first).status_code == 200
    assert book(client, officer, plumbing[2], second).status_code == 200
    # Another trade's booking uses an electrician, not a plumber.
    assert book(client, officer, electrical, first).status_code == 200

    offer = slots(client, officer, plumbing[3])
    assert free_of(offer, first) == capacity - 2
    assert free_of(offer, second) == capacity - 1
    assert all(s["free"] == capacity for s in offer if s["slot_id"] not in (first, second))
    electrician_offer = slots(client, officer, electrical)
    assert free_of(electrician_offer, first) == ctx.slots.capacity_for("electrician") - 1
    assert free_of(electrician_offer, second) == ctx.slots.capacity_for("electrician")


# -- booking and moving -------------------------------------------------------------------------------


def test_booking_schedules_the_ticket_and_tells_the_resident(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)
    slot = slots(client, officer, ref)[0]

    r = book(client, officer, ref, slot["slot_id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ticket"]["status"] == "scheduled"
    appt = body["ticket"]["appointment"]
    assert appt["date"] == slot["date"] and appt["period"] == slot["period"]
    assert datetime.fromisoformat(appt["starts_at"]) == datetime.fromisoformat(slot["starts_at"])
    booked_events = [e for e in body["events"] if e["kind"] == "appointment_booked"]
    assert len(booked_events) == 1 and booked_events[0]["data"]["slot"] == slot["slot_id"]
    assert booked_events[0]["actor_type"] == "officer" and booked_events[0]["actor_id"] == str(officer.id)
    changes = [(e["from_status"], e["to_status"]) for e in body["events"] if e["kind"] == "status_changed"]
    assert changes == [("reported", "scheduled")]

    rows = outbox(ctx, ref)
    assert len(rows) == 1  # the booking message, not a second "scheduled" one
    assert rows[0].kind == "appointment"
    assert rows[0].resident_id == res.id
    text = rows[0].payload["text"]
    assert "booked for" in text and ref in text
    assert appt["text"] in text
    assert rows[0].payload["starts_at"] == datetime.fromisoformat(slot["starts_at"]).isoformat()

    stored = appointments(ctx, ref)
    assert [(a.status, a.slot_date, a.period) for a in stored] == [
        (AppointmentStatus.BOOKED, slot["date"], slot["period"])
    ]
    # The resident sees the appointment too.
    mine = client.get(f"/api/v1/tickets/{ref}", headers=res.headers).json()
    assert mine["status"] == "scheduled"
    assert mine["appointment"]["date"] == slot["date"]


def test_booking_again_moves_the_appointment(client, factory, ctx):
    officer = factory.officer()
    ref = report(client, factory.resident())
    capacity = ctx.slots.capacity_for("plumber")
    offer = slots(client, officer, ref)
    old, new = offer[0]["slot_id"], offer[3]["slot_id"]
    assert book(client, officer, ref, old).status_code == 200

    r = book(client, officer, ref, new)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ticket"]["status"] == "scheduled"
    assert f"{body['ticket']['appointment']['date']}:{body['ticket']['appointment']['period']}" == new
    assert [e["kind"] for e in body["events"] if e["kind"].startswith("appointment_")] == [
        "appointment_booked", "appointment_moved"
    ]
    # scheduled -> scheduled is not a status change
    assert len([e for e in body["events"] if e["kind"] == "status_changed"]) == 1

    stored = appointments(ctx, ref)
    assert [a.status for a in stored] == [AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED]
    assert f"{stored[1].slot_date}:{stored[1].period}" == new
    rows = outbox(ctx, ref)
    assert [n.kind for n in rows] == ["appointment", "appointment"]
    assert "booked for" in rows[0].payload["text"]
    assert "moved to" in rows[1].payload["text"] and ref in rows[1].payload["text"]
    assert rows[0].delivery_key != rows[1].delivery_key

    offer = slots(client, officer, ref)
    assert free_of(offer, old) == capacity  # the old seat is given back
    assert free_of(offer, new) == capacity - 1


def test_booking_an_in_progress_ticket_puts_it_back_to_scheduled(client, factory, ctx):
    officer = factory.officer()
    ref = report(client, factory.resident())
    for status in ("triaged", "in_progress"):
        r = client.post(f"{TICKETS}/{ref}/status", headers=officer.headers, json={"status": status})
        assert r.status_code == 200
    slot = slots(client, officer, ref)[0]["slot_id"]
    assert book(client, officer, ref, slot).json()["ticket"]["status"] == "scheduled"


def test_a_full_slot_is_not_offered_and_cannot_be_booked(client, factory, ctx):
    officer = factory.officer()
    trade = "gas_engineer"
    capacity = ctx.slots.capacity_for(trade)
    refs = [report(client, factory.resident()) for _ in range(capacity + 1)]
    for ref in refs:
        set_trade(client, officer, ref, trade)
    slot = slots(client, officer, refs[0])[0]
    assert slot["free"] == capacity

    for i, ref in enumerate(refs[:capacity]):
        assert book(client, officer, ref, slot["slot_id"]).status_code == 200
        offer = slots(client, officer, refs[-1])
        assert free_of(offer, slot["slot_id"]) == (capacity - i - 1 or None)

    late = refs[-1]
    assert slot["slot_id"] not in {s["slot_id"] for s in slots(client, officer, late)}
    is_problem(book(client, officer, late, slot["slot_id"]), 409, "slot_unavailable")
    assert len(booked_in(ctx, trade, slot["slot_id"])) == capacity
    assert appointments(ctx, late) == []
    assert ticket_status(ctx, late) == Status.REPORTED
    assert outbox(ctx, late) == []
    # Other slots are still there for it.
    other = slots(client, officer, late)[0]["slot_id"]
    assert book(client, officer, late, other).status_code == 200


def _next_weekend_day() -> date:
    d = datetime.now(LONDON).date() + timedelta(days=1)
    while d.weekday() < 5:
        d += timedelta(days=1)
    return d


@pytest.mark.parametrize("slot_id", [
    "nonsense",
    "2026-13-45:am",
    "2026-12-01",
    ":am",
    "{weekend}:am",
    "{offered}:evening",
    "{yesterday}:pm",
    "{today}:pm",
    "{far}:am",
    "2024-02-29:am",
])
def test_invalid_slot_ids_are_409(client, factory, ctx, slot_id):
    officer = factory.officer()
    ref = report(client, factory.resident())
    offered = slots(client, officer, ref)[0]["date"]
    today = datetime.now(LONDON).date()
    slot_id = slot_id.format(
        weekend=_next_weekend_day(), offered=offered, yesterday=today - timedelta(days=1), today=today,
        far=today + timedelta(days=200),
    )
    is_problem(book(client, officer, ref, slot_id), 409, "slot_unavailable")
    assert appointments(ctx, ref) == []
    assert ticket_status(ctx, ref) == Status.REPORTED
    assert outbox(ctx, ref) == []


@pytest.mark.parametrize("body", [{}, {"slot_id": ""}, {"slot_id": "x" * 41}, {"slot_id": "2026-12-01:am", "x": 1}])
def test_booking_body_is_validated(client, factory, body):
    officer = factory.officer()
    ref = report(client, factory.resident())
    is_problem(client.post(f"{TICKETS}/{ref}/appointments", headers=officer.headers, json=body), 422)


def test_a_closed_ticket_cannot_be_booked(client, factory, ctx):
    officer = factory.officer()
    ref = report(client, factory.resident())
    slot = slots(client, officer, ref)[0]["slot_id"]
    assert client.post(f"{TICKETS}/{ref}/status", headers=officer.headers,
                       json={"status": "cancelled"}).status_code == 200
    is_problem(book(client, officer, ref, slot), 409, "closed_ticket")
    assert appointments(ctx, ref) == []


def test_booking_needs_an_officer(client, factory, ctx):
    res = factory.resident()
    officer = factory.officer()
    ref = report(client, res)
    slot = slots(client, officer, ref)[0]["slot_id"]
    url = f"{TICKETS}/{ref}/appointments"
    is_problem(client.post(url, json={"slot_id": slot}), 401)
    is_problem(client.post(url, headers=res.headers, json={"slot_id": slot}), 403)
    assert appointments(ctx, ref) == []


@pytest.mark.parametrize("who", ["officer", "resident"])
def test_cancelling_a_booked_ticket_gives_its_seat_back(client, factory, ctx, who):
    officer = factory.officer()
    capacity = ctx.slots.capacity_for("plumber")
    res = factory.resident()
    ref = report(client, res)
    other = report(client, factory.resident())
    slot = slots(client, officer, ref)[0]["slot_id"]
    assert book(client, officer, ref, slot).status_code == 200
    assert free_of(slots(client, officer, other), slot) == capacity - 1

    if who == "officer":
        r = client.post(f"{TICKETS}/{ref}/status", headers=officer.headers, json={"status": "cancelled"})
    else:
        r = client.post(f"/api/v1/tickets/{ref}/cancel", headers=res.headers, json={"reason": "Fixed it myself"})
    assert r.status_code == 200, r.text
    assert ticket_status(ctx, ref) == Status.CANCELLED
    assert free_of(slots(client, officer, other), slot) == capacity
    assert [a.status for a in appointments(ctx, ref)] == [AppointmentStatus.CANCELLED]


# -- concurrency ------------------------------------------------------------------------------------------


def _race(live_server, officer, jobs: list[tuple[str, str]]) -> list[httpx.Response]:
    """Send every (reference, slot) booking at the same moment from its own thread and connection."""
    barrier = threading.Barrier(len(jobs))

    def attempt(job: tuple[str, str]) -> httpx.Response:
        ref, slot_id = job
        with httpx.Client(base_url=live_server.url, timeout=60) as c:
            c.get("/healthz")  # connect first, so the requests really go out together
            barrier.wait(timeout=30)
            return c.post(f"{TICKETS}/{ref}/appointments", headers=officer.headers, json={"slot_id": slot_id})

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(attempt, jobs))


def test_concurrent_bookings_of_one_slot_never_overbook(client, factory, ctx, live_server):
    officer = factory.officer()
    trade = "plumber"
    capacity = ctx.slots.capacity_for(trade)
    refs = [report(client, factory.resident()) for _ in range(capacity + 2)]
    slot_id = slots(client, officer, refs[0])[0]["slot_id"]

    results = _race(live_server, officer, [(ref, slot_id) for ref in refs])

    codes = [r.status_code for r in results]
    assert sorted(codes) == [200] * capacity + [409] * 2, [r.text for r in results]
    for r in results:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.json()["code"] == "slot_unavailable"

    booked = booked_in(ctx, trade, slot_id)
    assert len(booked) == capacity
    assert sorted(a.seat for a in booked) == list(range(capacity))
    winners = {ref for ref, r in zip(refs, results, strict=True) if r.status_code == 200}
    for ref in refs:
        mine = appointments(ctx, ref)
        if ref in winners:
            assert [a.status for a in mine] == [AppointmentStatus.BOOKED]
            assert ticket_status(ctx, ref) == Status.SCHEDULED
            assert [n.kind for n in outbox(ctx, ref)] == ["appointment"]
        else:
            assert mine == []
            assert ticket_status(ctx, ref) == Status.REPORTED
            assert outbox(ctx, ref) == []
    assert slot_id not in {s["slot_id"] for s in slots(client, officer, refs[0])}


def test_concurrent_bookings_of_one_ticket_leave_one_appointment(client, factory, ctx, live_server):
    officer = factory.officer()
    ref = report(client, factory.resident())
    offer = [s["slot_id"] for s in slots(client, officer, ref)[:4]]

    results = _race(live_server, officer, [(ref, slot_id) for slot_id in offer])

    assert [r.status_code for r in results] == [200] * len(offer), [r.text for r in results]
    stored = appointments(ctx, ref)
    assert len(stored) == len(offer)
    assert [a.status for a in stored].count(AppointmentStatus.BOOKED) == 1
    kinds = sorted(n.kind for n in outbox(ctx, ref))
    assert kinds == ["appointment"] * len(offer)
    texts = [n.payload["text"] for n in outbox(ctx, ref)]
    assert sum("booked for" in t for t in texts) == 1
    assert sum("moved to" in t for t in texts) == len(offer) - 1
