"""The resident ticket API: create (idempotently), list, read, cancel, add information, reopen, rate."""

from __future__ import annotations

import re
import threading
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.residents.models import Tenure
from repairs.tickets.models import Status, Ticket, TicketEvent

REF = re.compile(r"^HR-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$")


def create(client, res, key=None, **fields):
    body = {"category": "plumbing", "description": "The kitchen tap drips all day", "location": "kitchen"}
    body.update(fields)
    return client.post(
        "/api/v1/tickets", headers={**res.headers, "Idempotency-Key": key or str(uuid.uuid4())}, json=body
    )


def ticket_count(ctx) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(func.count()).select_from(Ticket))


def test_create_gives_a_human_reference_priority_and_plain_target(client, factory):
    res = factory.resident()
    r = create(client, res)
    assert r.status_code == 201, r.text
    body = r.json()
    assert REF.match(body["reference"])
    assert body["priority"] == "routine"
    assert body["status"] == "reported"
    assert body["due_text"].startswith("by ")
    assert "id" not in body  # the database id is never shown


def test_create_writes_the_audit_trail(client, factory, ctx):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    with transaction(ctx.sessions) as s:
        events = s.scalars(select(TicketEvent).join(Ticket).where(Ticket.reference == ref)).all()
        assert [(e.kind, e.actor_type, e.to_status) for e in events] == [("created", "resident", "reported")]


def test_create_needs_an_idempotency_key(client, factory):
    res = factory.resident()
    r = client.post("/api/v1/tickets", headers=res.headers, json={"category": "plumbing", "description": "leak"})
    assert r.status_code == 400
    assert r.json()["code"] == "idempotency_key_missing"


def test_replay_returns_the_first_ticket_and_never_a_second(client, factory, ctx):
    res = factory.resident()
    first = create(client, res, key="double-tap-1")
    second = create(client, res, key="double-tap-1")
    assert first.status_code == second.status_code == 201
    assert second.json()["reference"] == first.json()["reference"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert ticket_count(ctx) == 1


def test_same_key_with_a_different_body_is_refused(client, factory, ctx):
    res = factory.resident()
    create(client, res, key="k-1")
    r = create(client, res, key="k-1", description="Something else entirely")
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert ticket_count(ctx) == 1


def test_keys_belong_to_one_resident(client, factory, ctx):
    a, b = factory.resident(), factory.resident()
    ra, rb = create(client, a, key="shared"), create(client, b, key="shared")
    assert ra.json()["reference"] != rb.json()["reference"]
    assert ticket_count(ctx) == 2


def test_concurrent_duplicates_make_exactly_one_ticket(live_server, factory, ctx):
    res = factory.resident()
    results: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def post() -> None:
        barrier.wait()
        with httpx.Client(timeout=30) as http:
            r = http.post(
                f"{live_server.url}/api/v1/tickets",
                headers={**res.headers, "Idempotency-Key": "same-tap"},
                json={"category": "plumbing", "description": "Burst pipe under the sink"},
            )
        with lock:
            results.append(r)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 8, [r.text for r in results]
    assert len({r.json()["reference"] for r in results}) == 1
    assert ticket_count(ctx) == 1


def test_a_resident_sees_only_their_own_repairs(client, factory):
    alice, bob = factory.resident(name="Alice A"), factory.resident(name="Bob B")
    alice_ref = create(client, alice).json()["reference"]
    create(client, bob)
    listed = client.get("/api/v1/tickets", headers=bob.headers).json()["items"]
    assert alice_ref not in {t["reference"] for t in listed}
    theirs = client.get(f"/api/v1/tickets/{alice_ref}", headers=bob.headers)
    missing = client.get("/api/v1/tickets/HR-2222ZZ", headers=bob.headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]
    for action, body in (
        ("cancel", {}),
        ("information", {"text": "hi"}),
        ("reopen", {"reason": "x"}),
        ("rating", {"score": 1}),
    ):
        assert client.post(f"/api/v1/tickets/{alice_ref}/{action}", headers=bob.headers, json=body).status_code == 404
    assert client.get(f"/api/v1/tickets/{alice_ref}", headers=alice.headers).status_code == 200


def test_references_are_accepted_as_residents_type_them(client, factory):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    typed = ref.lower().replace("-", " ")
    assert client.get(f"/api/v1/tickets/{typed}", headers=res.headers).json()["reference"] == ref


def test_list_pages_by_keyset_with_each_ticket_once(client, factory):
    res = factory.resident()
    made = {create(client, res, description=f"Problem number {i}").json()["reference"] for i in range(23)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/tickets", headers=res.headers, params=params).json()
        seen += [t["reference"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 23 and set(seen) == made
    assert client.get("/api/v1/tickets", headers=res.headers, params={"cursor": "garbage!!"}).status_code == 400


def test_status_filter(client, factory):
    res = factory.resident()
    keep = create(client, res).json()["reference"]
    gone = create(client, res, description="Second thing").json()["reference"]
    client.post(f"/api/v1/tickets/{gone}/cancel", headers=res.headers, json={"reason": "sorted it myself"})
    open_refs = {t["reference"] for t in client.get("/api/v1/tickets?status=open", headers=res.headers).json()["items"]}
    closed = {t["reference"] for t in client.get("/api/v1/tickets?status=closed", headers=res.headers).json()["items"]}
    assert open_refs == {keep} and closed == {gone}


def test_cancel_only_before_work_starts(client, factory, ctx):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    r = client.post(f"/api/v1/tickets/{ref}/cancel", headers=res.headers, json={"reason": "fixed it"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/tickets/{ref}/cancel", headers=res.headers, json={}).status_code == 200

    busy = create(client, res, description="Another").json()["reference"]
    _force_status(ctx, busy, Status.IN_PROGRESS)
    refused = client.post(f"/api/v1/tickets/{busy}/cancel", headers=res.headers, json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "cannot_cancel"


def _force_status(ctx, ref: str, status: Status) -> None:
    from repairs.tickets.service import Actor, change_status

    paths = {
        Status.IN_PROGRESS: [Status.TRIAGED, Status.IN_PROGRESS],
        Status.COMPLETED: [Status.TRIAGED, Status.IN_PROGRESS, Status.COMPLETED],
    }
    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == ref))
        for step in paths[status]:
            change_status(s, ctx.policy, ticket, step, actor=Actor("officer", "1"))


def test_add_information_is_recorded(client, factory, ctx):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    r = client.post(
        f"/api/v1/tickets/{ref}/information",
        headers=res.headers,
        json={"text": "The leak is worse when the washing machine runs"},
    )
    assert r.status_code == 200
    with transaction(ctx.sessions) as s:
        kinds = [e.kind for e in s.scalars(select(TicketEvent).join(Ticket).where(Ticket.reference == ref))]
    assert "information_added" in kinds


def test_reopen_and_rate_a_finished_repair(client, factory, ctx):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    assert client.post(f"/api/v1/tickets/{ref}/rating", headers=res.headers, json={"score": 4}).status_code == 409
    assert client.post(f"/api/v1/tickets/{ref}/reopen", headers=res.headers, json={}).status_code == 409
    _force_status(ctx, ref, Status.COMPLETED)
    not_fixed = client.post(f"/api/v1/tickets/{ref}/rating", headers=res.headers, json={"score": 2, "fixed": False})
    assert not_fixed.status_code == 200
    assert not_fixed.json()["status"] == "reopened"
    _force_status_from_reopened(ctx, ref)
    fixed = client.post(
        f"/api/v1/tickets/{ref}/rating", headers=res.headers, json={"score": 5, "fixed": True, "comment": "Lovely job"}
    )
    assert fixed.json()["status"] == "closed"
    assert client.post(f"/api/v1/tickets/{ref}/rating", headers=res.headers, json={"score": 6}).status_code == 422


def _force_status_from_reopened(ctx, ref: str) -> None:
    from repairs.tickets.service import Actor, change_status

    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == ref))
        change_status(s, ctx.policy, ticket, Status.COMPLETED, actor=Actor("officer", "1"))


def test_gas_is_always_an_emergency_with_the_safety_number(client, factory):
    res = factory.resident()
    r = create(client, res, category="heating", description="i can smell gas near the boiler")
    body = r.json()
    assert body["emergency"] is True and body["priority"] == "emergency"
    assert "0800 111 999" in body["advice"]


def test_leaseholder_repair_inside_the_flat_is_explained_not_ticketed(client, factory, ctx):
    res = factory.resident(tenure=Tenure.LEASEHOLDER)
    r = create(client, res, category="fittings", description="kitchen cupboard door hanging off")
    assert r.status_code == 422
    assert r.json()["code"] == "not_council_responsibility"
    assert r.json()["detail"] and r.json()["advice"]
    assert ticket_count(ctx) == 0
    communal = create(
        client, res, category="lifts", location_type="communal", description="lift is broken", location="lift"
    )
    assert communal.status_code == 201


def test_vulnerable_resident_raises_priority(client, factory):
    res = factory.resident(vulnerabilities=["elderly"])
    body = create(client, res, category="damp_mould", description="mould on the bedroom wall").json()
    assert body["priority"] in ("urgent", "emergency")
    assert body["awaab_investigate_by"] is not None


def test_status_changes_by_officers_reach_the_outbox_in_the_same_transaction(client, factory, ctx):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    _force_status(ctx, ref, Status.IN_PROGRESS)
    with transaction(ctx.sessions) as s:
        notes = s.scalars(select(Notification).order_by(Notification.id)).all()
        assert [n.kind for n in notes] == ["status_triaged", "status_in_progress"]
        assert all(ref in n.payload["text"] for n in notes)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"category": "plumbing"}, 422),
        ({"category": "plumbing", "description": ""}, 422),
        ({"category": "plumbing", "description": "   "}, 422),
        ({"category": "plumbing", "description": "x" * 4001}, 422),
        ({"category": "plumbing", "description": 12345}, 422),
        ({"category": ["plumbing"], "description": "leak"}, 422),
        ({"category": "unicorns", "description": "leak"}, 422),
        ({"category": "plumbing", "description": "nul\x00byte"}, 422),
        ({"category": "plumbing", "description": "leak", "location_type": "moon"}, 422),
        ({"category": "plumbing", "description": "leak", "extra_field": True}, 422),
        ({"category": "plumbing", "description": "leak", "block": "b" * 101}, 422),
    ],
)
def test_bad_input_gets_a_clear_problem_and_loses_nothing(client, factory, ctx, body, status):
    res = factory.resident()
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": str(uuid.uuid4())}, json=body)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"]
    assert ticket_count(ctx) == 0


def test_malformed_and_oversized_bodies(client, factory, ctx):
    res = factory.resident()
    headers = {**res.headers, "Idempotency-Key": "m", "Content-Type": "application/json"}
    assert client.post("/api/v1/tickets", headers=headers, content=b"{not json").status_code == 422
    huge = b'{"category": "plumbing", "description": "' + b"a" * 2_000_000 + b'"}'
    r = client.post("/api/v1/tickets", headers=headers, content=huge)
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    assert ticket_count(ctx) == 0


def test_sql_and_html_are_stored_as_plain_text(client, factory):
    res = factory.resident()
    nasty = "'); DROP TABLE tickets; -- <script>alert(1)</script>"
    ref = create(client, res, description=nasty).json()["reference"]
    again = client.get(f"/api/v1/tickets/{ref}", headers=res.headers).json()
    assert again["description"] == nasty


def test_no_token_and_wrong_token(client, factory):
    res = factory.resident()
    no_auth = {k: v for k, v in res.headers.items() if k != "Authorization"}
    assert client.get("/api/v1/tickets", headers=no_auth).status_code == 401
    assert client.get("/api/v1/tickets", headers={**no_auth, "Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/tickets", headers={**no_auth, "Authorization": "Basic abc"}).status_code == 401


def test_complaint_gets_ombudsman_deadlines(client, factory):
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    r = client.post(
        "/api/v1/complaints",
        headers={**res.headers, "Idempotency-Key": "c1"},
        json={"text": "Nobody came to the appointment", "ticket_reference": ref},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reference"].startswith("CP-") and body["stage"] == 1
    assert body["acknowledge_by"] < body["respond_by"]
    # Said in words for the chat, from the council's timescales: both clocks.
    assert body["acknowledge_by_text"].startswith("by ") and body["respond_by_text"].startswith("by ")
    replay = client.post(
        "/api/v1/complaints",
        headers={**res.headers, "Idempotency-Key": "c1"},
        json={"text": "Nobody came to the appointment", "ticket_reference": ref},
    )
    assert replay.json()["reference"] == body["reference"]


def test_information_sent_twice_with_one_key_is_added_once(client, factory, ctx):
    # The actions key it by the resident's turn: a call the balancer sent again to the other action server
    # (the first one hung, and woke later to finish it) must not add the same words twice.
    res = factory.resident()
    ref = create(client, res).json()["reference"]
    headers = {**res.headers, "Idempotency-Key": "information:telegram:1:turn-1"}
    words = {"text": "The leak is worse when the washing machine runs"}
    first = client.post(f"/api/v1/tickets/{ref}/information", headers=headers, json=words)
    again = client.post(f"/api/v1/tickets/{ref}/information", headers=headers, json=words)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    other = client.post(f"/api/v1/tickets/{ref}/information", headers=headers, json={"text": "Something else"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    unkeyed = client.post(f"/api/v1/tickets/{ref}/information", headers=res.headers, json=words)
    assert unkeyed.status_code == 200
    with transaction(ctx.sessions) as s:
        kinds = [e.kind for e in s.scalars(select(TicketEvent).join(Ticket).where(Ticket.reference == ref))]
    assert kinds.count("information_added") == 2  # the keyed call once, the unkeyed one once
