"""The officer API: sign-in, who may call it, the queue, and the changes officers make to tickets."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from repairs.auth.models import Officer, OfficerSession
from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.residents.models import Resident
from repairs.tickets import service
from repairs.tickets.models import LocationType, Status, Ticket, TicketEvent
from tests.conftest import SERVICE_HEADERS

PROBLEM = "application/problem+json"
QUEUE = "/api/v1/officer/tickets"


# -- helpers -----------------------------------------------------------------------------------------


def report(client, res, *, category="plumbing", description="The kitchen tap drips all the time",
           **extra) -> dict:
    """A resident reports a repair through the resident API; returns the ticket JSON."""
    body = {"category": category, "description": description, "location": "kitchen", **extra}
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_ticket(ctx, *, resident_id: int | None = None, category: str = "plumbing",
                description: str = "The kitchen tap drips all the time", now: datetime | None = None,
                channel: str = "api") -> str:
    """A ticket made straight through the service (for back-dated reports, or ones with no resident)."""
    with transaction(ctx.sessions) as s:
        resident = s.get(Resident, resident_id) if resident_id is not None else None
        ticket = service.create_ticket(
            s, ctx.policy,
            service.NewTicket(category=category, description=description, location_type=LocationType.IN_HOME,
                              location="kitchen", channel=channel, reporter_name=None if resident else "A Member"),
            actor=service.Actor("system", "test"),
            resident=resident,
            prop=resident.tenancy.property if resident else None,
            now=now,
        ).ticket
        return ticket.reference


def is_problem(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def queue_refs(client, officer, **params) -> list[str]:
    r = client.get(QUEUE, headers=officer.headers, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return [row["reference"] for row in r.json()["items"]]


def detail(client, officer, ref: str) -> dict:
    r = client.get(f"{QUEUE}/{ref}", headers=officer.headers)
    assert r.status_code == 200, r.text
    return r.json()


def set_status(client, officer, ref: str, status: str, **extra):
    return client.post(f"{QUEUE}/{ref}/status", headers=officer.headers, json={"status": status, **extra})


def outbox(ctx, ref: str | None = None) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        query = select(Notification).order_by(Notification.id)
        if ref is not None:
            query = query.join(Ticket, Ticket.id == Notification.ticket_id).where(Ticket.reference == ref)
        return list(s.scalars(query))


def event_count(ctx, ref: str) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(
            select(func.count()).select_from(TicketEvent).join(Ticket).where(Ticket.reference == ref)
        )


def load_ticket(ctx, ref: str) -> Ticket:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(Ticket).where(Ticket.reference == ref))


# -- sign-in -------------------------------------------------------------------------------------------


def sign_in(client, email: str, password: str):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_sign_in_gives_a_token_that_opens_the_queue(client, factory):
    officer = factory.officer()
    r = sign_in(client, officer.email, officer.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    token = body["access_token"]
    assert token and token != officer.token
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)

    r = client.get(QUEUE, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next_cursor": None}


def test_sign_in_ignores_email_case_and_spaces(client, factory):
    officer = factory.officer(email="Mixed.Case@Council.invalid")
    r = sign_in(client, "  MIXED.case@council.INVALID ", officer.password)
    assert r.status_code == 200, r.text


def test_wrong_password_is_the_same_problem_whether_or_not_the_email_exists(client, factory):
    officer = factory.officer()
    wrong = sign_in(client, officer.email, "not the right password")
    unknown = sign_in(client, "nobody-here@council.invalid", "not the right password")
    body_wrong = is_problem(wrong, 401, "login_failed")
    body_unknown = is_problem(unknown, 401, "login_failed")
    assert body_wrong == body_unknown
    assert wrong.content == unknown.content
    assert "access_token" not in body_wrong


def test_five_wrong_passwords_lock_the_account(client, factory, ctx):
    officer = factory.officer()
    for attempt in range(5):
        r = sign_in(client, officer.email, f"wrong password {attempt}")
        is_problem(r, 401, "login_failed")
    # The sixth attempt is refused even with the right password.
    r = sign_in(client, officer.email, officer.password)
    is_problem(r, 429, "account_locked")
    retry_after = int(r.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert "access_token" not in r.json()
    # ... and so is a wrong one, without counting further.
    is_problem(sign_in(client, officer.email, "still wrong"), 429, "account_locked")
    with transaction(ctx.sessions) as s:
        locked_until = s.get(Officer, officer.id).locked_until
    assert locked_until is not None and locked_until > datetime.now(UTC) + timedelta(minutes=14)
    # The bearer token issued before the lock-out still works (the lock is on signing in).
    assert client.get(QUEUE, headers=officer.headers).status_code == 200


def test_a_successful_sign_in_resets_the_failure_count(client, factory):
    officer = factory.officer()
    for _ in range(4):
        is_problem(sign_in(client, officer.email, "wrong password"), 401)
    assert sign_in(client, officer.email, officer.password).status_code == 200
    for _ in range(4):
        is_problem(sign_in(client, officer.email, "wrong password"), 401)
    assert sign_in(client, officer.email, officer.password).status_code == 200


def test_lockout_of_one_officer_does_not_lock_another(client, factory):
    first, second = factory.officer(), factory.officer()
    for _ in range(5):
        sign_in(client, first.email, "wrong password")
    is_problem(sign_in(client, first.email, first.password), 429)
    assert sign_in(client, second.email, second.password).status_code == 200


def test_lockout_ends_after_its_time(client, factory, ctx):
    officer = factory.officer()
    for _ in range(5):
        sign_in(client, officer.email, "wrong password")
    is_problem(sign_in(client, officer.email, officer.password), 429)
    with transaction(ctx.sessions) as s:  # let the 15 minutes pass
        s.get(Officer, officer.id).locked_until = datetime.now(UTC) - timedelta(seconds=1)
    assert sign_in(client, officer.email, officer.password).status_code == 200
    # The count started again from nothing: four more failures do not lock it.
    for _ in range(4):
        is_problem(sign_in(client, officer.email, "wrong password"), 401)
    assert sign_in(client, officer.email, officer.password).status_code == 200


def test_an_expired_token_is_401(client, factory, ctx):
    officer = factory.officer()
    with transaction(ctx.sessions) as s:
        for row in s.scalars(select(OfficerSession).where(OfficerSession.officer_id == officer.id)):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    is_problem(client.get(QUEUE, headers=officer.headers), 401, "unauthorised")


def test_inactive_officer_cannot_sign_in_or_use_a_token(client, factory, ctx):
    officer = factory.officer()
    with transaction(ctx.sessions) as s:
        s.get(Officer, officer.id).active = False
    is_problem(sign_in(client, officer.email, officer.password), 401, "login_failed")
    is_problem(client.get(QUEUE, headers=officer.headers), 401)


# -- who may call the officer API -----------------------------------------------------------------------


OFFICER_GETS = [QUEUE, f"{QUEUE}/HR-222222", f"{QUEUE}/HR-222222/slots"]


@pytest.mark.parametrize("path", OFFICER_GETS)
def test_no_token_is_401(client, path):
    r = client.get(path)
    is_problem(r, 401, "unauthorised")
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


def test_a_made_up_token_is_401(client):
    is_problem(client.get(QUEUE, headers={"Authorization": "Bearer made-up-token"}), 401)
    is_problem(client.get(QUEUE, headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)


@pytest.mark.parametrize("path", OFFICER_GETS)
def test_the_service_token_is_not_an_officer(client, path):
    is_problem(client.get(path, headers=SERVICE_HEADERS), 403, "forbidden")


def test_a_resident_cannot_reach_officer_endpoints(client, factory):
    res = factory.resident()
    ticket = report(client, res)
    ref = ticket["reference"]
    is_problem(client.get(QUEUE, headers=res.headers), 403)
    is_problem(client.get(f"{QUEUE}/{ref}", headers=res.headers), 403)
    is_problem(client.post(f"{QUEUE}/{ref}/status", headers=res.headers, json={"status": "completed"}), 403)
    is_problem(client.post(f"{QUEUE}/{ref}/notes", headers=res.headers, json={"text": "hello"}), 403)
    # ... and nothing changed.
    r = client.get(f"/api/v1/tickets/{ref}", headers=res.headers)
    assert r.json()["status"] == "reported"


def test_an_officer_token_is_not_a_service_token(client, factory):
    officer = factory.officer()
    r = client.get("/api/v1/tickets", headers={**officer.headers, "X-Resident-Channel": "telegram:1"})
    is_problem(r, 403)


# -- the queue ------------------------------------------------------------------------------------------


def test_queue_puts_the_soonest_to_breach_first(client, factory):
    officer = factory.officer()
    res = factory.resident()
    routine = report(client, res)
    emergency = report(client, res, category="gas", description="I can smell gas near the cooker")
    assert routine["priority"] == "routine"
    assert emergency["priority"] == "emergency"

    r = client.get(QUEUE, headers=officer.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["reference"] for i in items] == [emergency["reference"], routine["reference"]]
    assert items[0]["emergency"] is True and items[0]["priority"] == "emergency"
    dues = [datetime.fromisoformat(i["due_at"]) for i in items]
    assert dues == sorted(dues)
    assert items[1]["postcode"] == res.postcode
    assert items[1]["channel"] == "telegram"


@pytest.fixture
def mixed_queue(client, factory, ctx):
    """Tickets that differ in one way each, so every filter has a single right answer."""
    alder = factory.resident(postcode="NW1 8YL", block="Alder House")
    birch = factory.resident(postcode="NW1 8YN", block="Birch House", vulnerabilities=["elderly"])
    tickets = {
        "plumbing": report(client, alder)["reference"],
        "electrical_web": report(client, alder, category="electrical",
                                 description="The hallway light switch is loose", channel="web")["reference"],
        "gas": report(client, alder, category="gas", description="I can smell gas near the cooker")["reference"],
        # Routine plumbing, raised to urgent because the resident is vulnerable.
        "vulnerable_urgent": report(client, birch)["reference"],
        "overdue": make_ticket(ctx, resident_id=alder.id, now=datetime.now(UTC) - timedelta(days=60),
                               description="The bathroom tap drips"),
        "cancelled": report(client, alder, description="The toilet cistern keeps running")["reference"],
    }
    officer = factory.officer()
    assert set_status(client, officer, tickets["cancelled"], "cancelled").status_code == 200
    return officer, tickets


def test_queue_filters(client, mixed_queue):
    officer, t = mixed_queue
    open_refs = {t[k] for k in t if k != "cancelled"}

    assert set(queue_refs(client, officer)) == open_refs
    assert set(queue_refs(client, officer, priority="emergency")) == {t["gas"]}
    assert set(queue_refs(client, officer, priority="urgent")) == {t["vulnerable_urgent"]}
    assert set(queue_refs(client, officer, category="electrical")) == {t["electrical_web"]}
    assert set(queue_refs(client, officer, status="reported")) == open_refs
    assert set(queue_refs(client, officer, status="cancelled")) == {t["cancelled"]}
    assert set(queue_refs(client, officer, overdue="true")) == {t["overdue"]}
    assert set(queue_refs(client, officer, overdue="false")) == open_refs - {t["overdue"]}
    assert set(queue_refs(client, officer, vulnerable="true")) == {t["vulnerable_urgent"]}
    assert set(queue_refs(client, officer, vulnerable="false")) == open_refs - {t["vulnerable_urgent"]}
    assert set(queue_refs(client, officer, channel="web")) == {t["electrical_web"]}
    assert set(queue_refs(client, officer, block="Birch House")) == {t["vulnerable_urgent"]}
    assert set(queue_refs(client, officer, block="Alder House")) == open_refs - {t["vulnerable_urgent"]}
    # Filters combine.
    assert set(queue_refs(client, officer, block="Alder House", priority="emergency")) == {t["gas"]}
    assert queue_refs(client, officer, block="Birch House", priority="emergency") == []


def test_queue_overdue_flag(client, mixed_queue):
    officer, t = mixed_queue
    r = client.get(QUEUE, headers=officer.headers)
    flags = {row["reference"]: row["overdue"] for row in r.json()["items"]}
    assert flags[t["overdue"]] is True
    assert [ref for ref, late in flags.items() if late] == [t["overdue"]]
    # The overdue one is the soonest to breach, so it leads the queue.
    assert r.json()["items"][0]["reference"] == t["overdue"]


def test_queue_search(client, mixed_queue):
    officer, t = mixed_queue
    birch = t["vulnerable_urgent"]
    gas = t["gas"]
    # A reference, typed the way people type them.
    assert queue_refs(client, officer, q=gas) == [gas]
    assert queue_refs(client, officer, q=gas.lower().replace("-", "")) == [gas]
    assert queue_refs(client, officer, q=f"  {gas.lower()} ") == [gas]
    # A postcode, in any spacing and case.
    assert queue_refs(client, officer, q="nw18yn") == [birch]
    assert queue_refs(client, officer, q="NW1 8YN") == [birch]
    # Part of the address, case-insensitively.
    assert queue_refs(client, officer, q="birch hou") == [birch]
    alder = {t[k] for k in t if k not in ("cancelled", "vulnerable_urgent")}
    assert set(queue_refs(client, officer, q="Alder")) == alder
    # Wildcards are matched literally, not as LIKE patterns.
    assert queue_refs(client, officer, q="%") == []
    assert queue_refs(client, officer, q="_") == []
    # No match at all.
    assert queue_refs(client, officer, q="Nowhere Road") == []
    assert queue_refs(client, officer, q="HR-222222") == []


def test_queue_closed_tickets_only_with_include_closed(client, mixed_queue):
    officer, t = mixed_queue
    assert t["cancelled"] not in queue_refs(client, officer)
    assert t["cancelled"] in queue_refs(client, officer, include_closed="true")
    # A completed ticket is not open either.
    ref = t["electrical_web"]
    for status in ("triaged", "completed"):
        assert set_status(client, officer, ref, status).status_code == 200
    assert ref not in queue_refs(client, officer)
    assert ref in queue_refs(client, officer, include_closed="true")
    assert len(queue_refs(client, officer, include_closed="true")) == len(t)


def test_queue_keyset_paging_returns_every_ticket_once_in_order(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    base = datetime.now(UTC)
    refs = []
    for i in range(30):
        if i % 3 == 0:  # emergencies: a due time each
            refs.append(make_ticket(ctx, resident_id=res.id, category="gas",
                                    description="I can smell gas near the cooker", now=base - timedelta(minutes=i)))
        else:  # routine reports made the same day share a due time: the id breaks the tie
            refs.append(make_ticket(ctx, resident_id=res.id, now=base - timedelta(days=i // 10)))
    with transaction(ctx.sessions) as s:
        expected = list(s.scalars(select(Ticket.reference).order_by(Ticket.due_at, Ticket.id)))
        distinct_dues = s.scalar(select(func.count(func.distinct(Ticket.due_at))))
    assert sorted(expected) == sorted(refs)
    assert distinct_dues < 30  # there really are ties to break

    seen: list[str] = []
    dues: list[datetime] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        r = client.get(QUEUE, headers=officer.headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert len(page["items"]) <= 7
        seen += [row["reference"] for row in page["items"]]
        dues += [datetime.fromisoformat(row["due_at"]) for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "paging does not end"
    assert pages == 5
    assert len(seen) == len(set(seen)) == 30
    assert seen == expected
    assert dues == sorted(dues)


def test_queue_paging_with_an_exact_multiple_has_no_empty_last_page(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    for _ in range(6):
        make_ticket(ctx, resident_id=res.id)
    first = client.get(QUEUE, headers=officer.headers, params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = client.get(QUEUE, headers=officer.headers, params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 3
    assert second["next_cursor"] is None
    assert not {i["reference"] for i in first["items"]} & {i["reference"] for i in second["items"]}


@pytest.mark.parametrize("cursor", [
    "not-a-cursor",
    "!!!!",
    base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", 5]).encode()).decode(),  # naive time
    base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00+00:00", "5"]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00+00:00", -1]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).decode(),
])
def test_queue_bad_cursor_is_400(client, factory, cursor):
    officer = factory.officer()
    r = client.get(QUEUE, headers=officer.headers, params={"cursor": cursor})
    is_problem(r, 400, "invalid_cursor")


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"priority": "whenever"}, {"status": "lost"}])
def test_queue_bad_parameters_are_422(client, factory, params):
    officer = factory.officer()
    is_problem(client.get(QUEUE, headers=officer.headers, params=params), 422)


def test_ticket_detail_and_unknown_reference(client, factory):
    officer = factory.officer()
    res = factory.resident(name="Grace Hughes", vulnerabilities=["respiratory"])
    ref = report(client, res)["reference"]
    body = detail(client, officer, ref.lower())
    assert body["ticket"]["reference"] == ref
    assert body["resident"]["name"] == "Grace Hughes"
    assert body["resident"]["vulnerabilities"] == ["respiratory"]
    assert res.postcode in body["resident"]["address"]
    assert body["trade"] == "plumber"
    assert body["events"][0]["kind"] == "created"
    assert body["events"][0]["actor_type"] == "resident"
    assert set(body["allowed_next"]) == {"triaged", "scheduled", "in_progress", "cancelled"}
    is_problem(client.get(f"{QUEUE}/HR-222222", headers=officer.headers), 404)
    is_problem(client.get(f"{QUEUE}/nonsense", headers=officer.headers), 404)


# -- status changes -------------------------------------------------------------------------------------


def test_status_path_writes_one_officer_event_per_change(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    path = ["reported", "triaged", "scheduled", "in_progress", "completed"]
    for after in path[1:]:
        r = set_status(client, officer, ref, after, note=f"now {after}")
        assert r.status_code == 200, r.text
        assert r.json()["ticket"]["status"] == after

    events = detail(client, officer, ref)["events"]
    changes = [e for e in events if e["kind"] == "status_changed"]
    assert [(e["from_status"], e["to_status"]) for e in changes] == list(itertools.pairwise(path))
    for e in changes:
        assert e["actor_type"] == "officer"
        assert e["actor_id"] == str(officer.id)
        assert e["data"] == {"note": f"now {e['to_status']}"}
    assert len(events) == 1 + len(changes)  # the "created" event plus one per change

    ticket = load_ticket(ctx, ref)
    assert ticket.status == Status.COMPLETED
    assert ticket.is_open is False
    assert ticket.completed_at is not None


def test_status_changes_write_resident_messages_to_the_outbox(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    assert outbox(ctx, ref) == []
    for status in ("triaged", "scheduled", "in_progress", "completed"):
        assert set_status(client, officer, ref, status).status_code == 200

    rows = outbox(ctx, ref)
    assert [n.kind for n in rows] == ["status_triaged", "status_in_progress", "status_completed"]
    for n in rows:
        assert ref in n.payload["text"]
        assert n.payload["reference"] == ref
        assert n.resident_id == res.id
        assert n.status.value == "pending"
    assert "routine" in rows[0].payload["text"]
    assert len({n.delivery_key for n in rows}) == len(rows)


def test_no_outbox_rows_for_a_ticket_without_a_resident(client, factory, ctx):
    officer = factory.officer()
    ref = make_ticket(ctx, resident_id=None)
    for status in ("triaged", "in_progress", "completed", "closed"):
        assert set_status(client, officer, ref, status).status_code == 200, status
    assert outbox(ctx) == []
    assert detail(client, officer, ref)["resident"] is None


@pytest.mark.parametrize(("path", "illegal"), [
    ([], "closed"),
    ([], "completed"),
    ([], "reopened"),
    ([], "reported"),
    (["cancelled"], "triaged"),
    (["cancelled"], "reopened"),
    (["cancelled"], "cancelled"),
    (["triaged", "in_progress"], "cancelled"),
    (["triaged", "completed", "closed"], "completed"),
])
def test_illegal_status_change_is_409_and_writes_nothing(client, factory, ctx, path, illegal):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    for status in path:
        assert set_status(client, officer, ref, status).status_code == 200, status
    current = load_ticket(ctx, ref).status
    events_before = event_count(ctx, ref)
    outbox_before = len(outbox(ctx))

    body = is_problem(set_status(client, officer, ref, illegal), 409, "invalid_transition")
    assert current.value in body["detail"]

    assert load_ticket(ctx, ref).status == current
    assert event_count(ctx, ref) == events_before
    assert len(outbox(ctx)) == outbox_before


def test_status_change_validation(client, factory):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    is_problem(set_status(client, officer, ref, "fixed"), 422)
    is_problem(client.post(f"{QUEUE}/{ref}/status", headers=officer.headers,
                           json={"status": "triaged", "extra": 1}), 422)
    is_problem(set_status(client, officer, "HR-222222", "triaged"), 404)


def test_reopen_then_complete_again(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    for status in ("triaged", "completed", "reopened", "in_progress", "completed"):
        assert set_status(client, officer, ref, status).status_code == 200, status
    ticket = load_ticket(ctx, ref)
    assert ticket.reopen_count == 1
    assert ticket.completed_at is not None
    kinds = [n.kind for n in outbox(ctx, ref)]
    assert kinds == ["status_triaged", "status_completed", "status_reopened", "status_in_progress",
                     "status_completed"]


def test_an_officer_reopen_gives_a_fresh_target(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = make_ticket(ctx, resident_id=res.id, now=datetime.now(UTC) - timedelta(days=60))
    for status in ("triaged", "completed"):
        assert set_status(client, officer, ref, status).status_code == 200
    assert load_ticket(ctx, ref).due_at < datetime.now(UTC)
    assert set_status(client, officer, ref, "reopened").status_code == 200
    ticket = load_ticket(ctx, ref)
    assert ticket.status == Status.REOPENED and ticket.is_open
    assert ticket.due_at > datetime.now(UTC)


def test_a_resident_reopen_gives_a_fresh_target(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = make_ticket(ctx, resident_id=res.id, now=datetime.now(UTC) - timedelta(days=60))
    for status in ("triaged", "completed"):
        assert set_status(client, officer, ref, status).status_code == 200
    r = client.post(f"/api/v1/tickets/{ref}/reopen", headers=res.headers, json={"reason": "Still dripping"})
    assert r.status_code == 200, r.text
    assert load_ticket(ctx, ref).due_at > datetime.now(UTC)
    # ... and the queue no longer shows it overdue.
    row = next(i for i in client.get(QUEUE, headers=officer.headers).json()["items"] if i["reference"] == ref)
    assert row["overdue"] is False and row["status"] == "reopened"


# -- assigning, notes, messages ---------------------------------------------------------------------------


def test_assign_to_an_officer_and_a_trade(client, factory, ctx):
    officer = factory.officer()
    colleague = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    r = client.post(f"{QUEUE}/{ref}/assign", headers=officer.headers,
                    json={"officer_id": colleague.id, "trade": "gas_engineer"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assigned_officer_id"] == colleague.id
    assert body["trade"] == "gas_engineer"
    assigned = [e for e in body["events"] if e["kind"] == "assigned"]
    assert len(assigned) == 1
    assert assigned[0]["actor_type"] == "officer" and assigned[0]["actor_id"] == str(officer.id)
    assert assigned[0]["data"] == {"officer_id": colleague.id, "trade": "gas_engineer"}

    # Only the trade changes the trade; the assignee stays.
    r = client.post(f"{QUEUE}/{ref}/assign", headers=officer.headers, json={"trade": "plumber"})
    assert r.status_code == 200
    assert r.json()["assigned_officer_id"] == colleague.id
    assert r.json()["trade"] == "plumber"
    ticket = load_ticket(ctx, ref)
    assert (ticket.assigned_officer_id, ticket.trade) == (colleague.id, "plumber")
    assert outbox(ctx, ref) == []  # internal: the resident is not told


def test_assign_to_unknown_or_inactive_officer_is_422(client, factory, ctx):
    officer = factory.officer()
    gone = factory.officer()
    with transaction(ctx.sessions) as s:
        s.get(Officer, gone.id).active = False
    res = factory.resident()
    ref = report(client, res)["reference"]
    before = event_count(ctx, ref)
    is_problem(client.post(f"{QUEUE}/{ref}/assign", headers=officer.headers, json={"officer_id": 999_999}),
               422, "unknown_officer")
    is_problem(client.post(f"{QUEUE}/{ref}/assign", headers=officer.headers, json={"officer_id": gone.id}),
               422, "unknown_officer")
    is_problem(client.post(f"{QUEUE}/{ref}/assign", headers=officer.headers, json={}), 422)
    is_problem(client.post(f"{QUEUE}/{ref}/assign", headers=officer.headers, json={"trade": "Gas Engineer!"}), 422)
    assert event_count(ctx, ref) == before
    assert load_ticket(ctx, ref).assigned_officer_id is None


def test_notes_are_internal_events(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    r = client.post(f"{QUEUE}/{ref}/notes", headers=officer.headers, json={"text": "Rang twice, no answer."})
    assert r.status_code == 200, r.text
    notes = [e for e in detail(client, officer, ref)["events"] if e["kind"] == "note"]
    assert len(notes) == 1
    assert notes[0]["data"] == {"text": "Rang twice, no answer."}
    assert notes[0]["actor_type"] == "officer" and notes[0]["actor_id"] == str(officer.id)
    assert outbox(ctx) == []
    # The resident does not see the note.
    resident_view = client.get(f"/api/v1/tickets/{ref}", headers=res.headers).json()
    assert "Rang twice" not in json.dumps(resident_view)
    is_problem(client.post(f"{QUEUE}/{ref}/notes", headers=officer.headers, json={"text": "   "}), 422)


def test_message_to_the_resident_goes_through_the_outbox(client, factory, ctx):
    officer = factory.officer()
    res = factory.resident()
    ref = report(client, res)["reference"]
    text = "Our plumber will bring a new washer on Tuesday."
    r = client.post(f"{QUEUE}/{ref}/messages", headers=officer.headers, json={"text": text})
    assert r.status_code == 200, r.text
    sent = [e for e in r.json()["events"] if e["kind"] == "message_sent"]
    assert len(sent) == 1 and sent[0]["data"] == {"text": text}
    assert sent[0]["actor_id"] == str(officer.id)

    rows = outbox(ctx, ref)
    assert len(rows) == 1
    assert rows[0].kind == "officer_message"
    assert rows[0].resident_id == res.id
    assert text in rows[0].payload["text"]
    assert ref in rows[0].payload["text"]

    # A second message is a second row with its own delivery key.
    client.post(f"{QUEUE}/{ref}/messages", headers=officer.headers, json={"text": "Running late, sorry."})
    rows = outbox(ctx, ref)
    assert len(rows) == 2
    assert rows[0].delivery_key != rows[1].delivery_key


def test_message_to_a_ticket_without_a_resident_is_409(client, factory, ctx):
    officer = factory.officer()
    ref = make_ticket(ctx, resident_id=None)
    before = event_count(ctx, ref)
    is_problem(client.post(f"{QUEUE}/{ref}/messages", headers=officer.headers, json={"text": "Hello"}),
               409, "no_resident")
    assert event_count(ctx, ref) == before
    assert outbox(ctx) == []


def test_delivery_keys_are_unique_across_everything_written(client, factory, ctx):
    officer = factory.officer()
    refs = [report(client, factory.resident())["reference"] for _ in range(3)]
    for ref in refs:
        for status in ("triaged", "in_progress", "completed"):
            assert set_status(client, officer, ref, status).status_code == 200
        client.post(f"{QUEUE}/{ref}/messages", headers=officer.headers, json={"text": "Thanks for your patience."})
    rows = outbox(ctx)
    assert len(rows) == 3 * 4
    assert len({n.delivery_key for n in rows}) == len(rows)


# -- Awaab's Law ------------------------------------------------------------------------------------------


def damp_ticket(client, factory) -> tuple[str, dict]:
    res = factory.resident()
    ticket = report(client, res, category="damp_mould",
                    description="Black mould spreading on the bathroom ceiling", location="bathroom")
    return ticket["reference"], ticket


def test_damp_and_mould_for_a_tenant_has_an_investigation_clock(client, factory, ctx):
    officer = factory.officer()
    ref, ticket = damp_ticket(client, factory)
    assert ticket["awaab_investigate_by"] is not None
    investigate_by = datetime.fromisoformat(ticket["awaab_investigate_by"])
    reported = datetime.fromisoformat(ticket["reported_at"])
    assert investigate_by == ctx.policy.calendar.add_working_days(reported, 10)

    row = next(i for i in client.get(QUEUE, headers=officer.headers).json()["items"] if i["reference"] == ref)
    assert datetime.fromisoformat(row["awaab_next"]) == investigate_by
    stored = load_ticket(ctx, ref)
    assert stored.awaab_applies is True
    assert stored.awaab_summary_by is None and stored.awaab_safety_work_by is None


def test_recording_the_investigation_starts_the_follow_on_clocks(client, factory, ctx):
    officer = factory.officer()
    ref, _ = damp_ticket(client, factory)
    at = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    r = client.post(f"{QUEUE}/{ref}/investigated", headers=officer.headers, json={"at": at.isoformat()})
    assert r.status_code == 200, r.text
    events = [e for e in r.json()["events"] if e["kind"] == "investigated"]
    assert len(events) == 1
    assert events[0]["actor_type"] == "officer" and events[0]["actor_id"] == str(officer.id)
    assert datetime.fromisoformat(events[0]["data"]["at"]) == at

    stored = load_ticket(ctx, ref)
    assert stored.investigated_at == at
    assert stored.awaab_summary_by == ctx.policy.calendar.add_working_days(at, 3)
    assert stored.awaab_safety_work_by == ctx.policy.calendar.add_working_days(at, 5)

    row = next(i for i in client.get(QUEUE, headers=officer.headers).json()["items"] if i["reference"] == ref)
    assert datetime.fromisoformat(row["awaab_next"]) == stored.awaab_summary_by


def test_investigation_without_a_time_means_now(client, factory, ctx):
    officer = factory.officer()
    ref, _ = damp_ticket(client, factory)
    before = datetime.now(UTC)
    r = client.post(f"{QUEUE}/{ref}/investigated", headers=officer.headers, json={})
    assert r.status_code == 200, r.text
    stored = load_ticket(ctx, ref)
    assert before - timedelta(seconds=1) <= stored.investigated_at <= datetime.now(UTC)
    assert stored.awaab_summary_by is not None and stored.awaab_safety_work_by is not None


@pytest.mark.parametrize("at", [
    timedelta(hours=1),
    timedelta(days=3),
    "2026-01-01T10:00:00",  # no time zone
    "yesterday",
])
def test_investigation_in_the_future_or_without_zone_is_422(client, factory, ctx, at):
    # Relative times are resolved here, not at collection, so parallel workers collect the same tests.
    if isinstance(at, timedelta):
        at = (datetime.now(UTC) + at).isoformat()
    officer = factory.officer()
    ref, _ = damp_ticket(client, factory)
    before = event_count(ctx, ref)
    is_problem(client.post(f"{QUEUE}/{ref}/investigated", headers=officer.headers, json={"at": at}), 422)
    stored = load_ticket(ctx, ref)
    assert stored.investigated_at is None
    assert stored.awaab_summary_by is None and stored.awaab_safety_work_by is None
    assert event_count(ctx, ref) == before


def test_investigation_of_a_non_awaab_ticket_sets_no_awaab_clocks(client, factory, ctx):
    officer = factory.officer()
    ref = report(client, factory.resident())["reference"]
    assert load_ticket(ctx, ref).awaab_applies is False
    r = client.post(f"{QUEUE}/{ref}/investigated", headers=officer.headers, json={})
    assert r.status_code == 200
    stored = load_ticket(ctx, ref)
    assert stored.investigated_at is not None
    assert stored.awaab_summary_by is None and stored.awaab_safety_work_by is None
