"""The outbox API the bot's delivery workers use: claims as leases, sent and failed, retries with back-off,
the channel each message goes to, the officers' list of failed deliveries, and who may call what."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import httpx
import pytest
import yaml
from sqlalchemy import select, update

from repairs.database import transaction, utcnow
from repairs.notifications.models import Notification, OutboxStatus
from repairs.notifications.outbox import enqueue
from repairs.notifications.sweeper import sweep_once
from repairs.residents.models import ChannelIdentity
from repairs.tickets.models import Rating, Status, Ticket, TicketEvent
from tests.conftest import ROOT, SERVICE_HEADERS

CLAIM = "/api/v1/outbox/claim"
DELIVERIES = "/api/v1/officer/deliveries"


# -- helpers -----------------------------------------------------------------------------------------


def report(client, res, *, channel: str | None = None) -> str:
    body = {"category": "plumbing", "description": "The kitchen tap drips all the time", "location": "kitchen"}
    if channel:
        body["channel"] = channel
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return r.json()["reference"]


def set_status(client, officer, ref: str, status: str) -> None:
    r = client.post(f"/api/v1/officer/tickets/{ref}/status", headers=officer.headers, json={"status": status})
    assert r.status_code == 200, r.text


def claim(client, *, channels=("telegram",), limit=50, lease=60) -> list[dict]:
    r = client.post(CLAIM, headers=SERVICE_HEADERS,
                    json={"limit": limit, "lease_seconds": lease, "channels": list(channels)})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def sent(client, note_id: int) -> None:
    r = client.post(f"/api/v1/outbox/{note_id}/sent", headers=SERVICE_HEADERS)
    assert r.status_code == 204, r.text


def failed(client, note_id: int, error: str = "timeout", retryable: bool = True, **extra) -> None:
    r = client.post(f"/api/v1/outbox/{note_id}/failed", headers=SERVICE_HEADERS,
                    json={"error": error, "retryable": retryable, **extra})
    assert r.status_code == 204, r.text


def queue_messages(ctx, resident_id: int | None, count: int, *, prefix: str = "m") -> list[int]:
    """Messages not tied to a ticket (so not ordered among themselves), straight into the outbox."""
    with transaction(ctx.sessions) as s:
        notes = [
            enqueue(s, delivery_key=f"{prefix}:{uuid.uuid4().hex}", resident_id=resident_id, ticket_id=None,
                    kind="test", text=f"message {i}")
            for i in range(count)
        ]
        s.flush()
        return [n.id for n in notes if n is not None]


def row(ctx, note_id: int) -> Notification:
    with transaction(ctx.sessions) as s:
        note = s.get(Notification, note_id)
        assert note is not None
        return note


def link(ctx, resident_id: int, channel: str, external_id: str, *, minutes_ago: int = 0) -> None:
    with transaction(ctx.sessions) as s:
        s.add(ChannelIdentity(resident_id=resident_id, channel=channel, external_id=external_id,
                              linked_at=utcnow() - timedelta(minutes=minutes_ago)))


def with_delays(ctx, *delays: float) -> None:
    ctx.settings = ctx.settings.model_copy(update={"outbox_retry_delays_seconds": tuple(delays)})


# -- claiming ----------------------------------------------------------------------------------------


def test_a_claim_gives_what_the_bot_needs_to_send(client, factory):
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    set_status(client, officer, ref, "triaged")
    [item] = claim(client)
    assert item["kind"] == "status_triaged"
    assert ref in item["text"]
    assert item["data"] == {"reference": ref, "status": "triaged"}
    assert item["channel"] == "telegram"
    assert f"telegram:{item['external_id']}" == res.chat
    assert item["attempts"] == 1
    assert item["buttons"] == []
    assert item["delivery_key"].startswith("ticket:")


def test_claimed_rows_are_leased_until_the_lease_runs_out(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    assert [i["id"] for i in claim(client, lease=1)] == [note_id]
    assert claim(client) == []  # leased: nobody else gets it
    time.sleep(1.2)  # the worker holding it "died": the lease runs out
    again = claim(client)
    assert [i["id"] for i in again] == [note_id]
    assert again[0]["attempts"] == 2
    sent(client, note_id)
    time.sleep(0.1)
    assert claim(client) == []


def test_messages_about_one_ticket_go_out_in_order(client, factory):
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    for status in ("triaged", "in_progress", "completed"):
        set_status(client, officer, ref, status)
    kinds = []
    for _ in range(3):
        items = claim(client)
        assert len(items) == 1  # the next one waits until this one is sent
        kinds.append(items[0]["kind"])
        sent(client, items[0]["id"])
    assert kinds == ["status_triaged", "status_in_progress", "status_completed"]
    assert claim(client) == []


def test_a_message_backing_off_holds_back_the_later_ones_on_its_ticket(client, factory):
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    set_status(client, officer, ref, "triaged")
    set_status(client, officer, ref, "in_progress")
    [first] = claim(client)
    failed(client, first["id"], "network")
    assert claim(client) == []  # "on the way" must not overtake "we've looked at it"


def test_sent_is_idempotent_and_unknown_ids_are_404(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    claim(client)
    sent(client, note_id)
    first_sent_at = row(ctx, note_id).sent_at
    sent(client, note_id)
    note = row(ctx, note_id)
    assert note.status == OutboxStatus.SENT
    assert note.sent_at == first_sent_at
    r = client.post("/api/v1/outbox/999999/sent", headers=SERVICE_HEADERS)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/v1/outbox/999999/failed", headers=SERVICE_HEADERS, json={"error": "x"})
    assert r.status_code == 404


# -- failures, back-off and officers --------------------------------------------------------------------


def test_passing_failures_back_off_on_the_schedule(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    claim(client)
    before = utcnow()
    failed(client, note_id, "network")
    note = row(ctx, note_id)
    assert note.status == OutboxStatus.PENDING
    assert note.last_error == "network"
    # The default schedule starts at 5 s.
    assert timedelta(seconds=4.5) < note.next_attempt_at - before < timedelta(seconds=6)
    assert claim(client) == []


def test_retries_back_off_then_fail_and_officers_see_it(client, factory, ctx):
    with_delays(ctx, 0.3, 0.6)
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    set_status(client, officer, ref, "triaged")
    waits = []
    for attempt in (1, 2, 3):
        deadline = time.monotonic() + 5
        while not (items := claim(client)):
            assert time.monotonic() < deadline, "the message never came back"
            time.sleep(0.05)
        assert items[0]["attempts"] == attempt
        failed_at = time.monotonic()
        failed(client, items[0]["id"], "telegram_network")
        waits.append(failed_at)
    note_id = items[0]["id"]
    note = row(ctx, note_id)
    assert note.status == OutboxStatus.FAILED  # one attempt plus one per delay, then it gives up
    assert note.attempts == 3
    time.sleep(0.7)
    assert claim(client) == []

    r = client.get(DELIVERIES, headers=officer.headers, params={"status": "failed"})
    assert r.status_code == 200, r.text
    [listed] = r.json()["items"]
    assert listed["id"] == note_id
    assert listed["reference"] == ref
    assert listed["kind"] == "status_triaged"
    assert listed["attempts"] == 3
    assert listed["last_error"] == "telegram_network"
    assert listed["channel"] == "telegram"
    assert "text" not in listed and "external_id" not in listed

    r = client.post(f"{DELIVERIES}/{note_id}/retry", headers=officer.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    [again] = claim(client)
    assert again["id"] == note_id
    assert again["attempts"] == 1  # a fresh budget
    sent(client, note_id)
    assert client.get(DELIVERIES, headers=officer.headers).json()["items"] == []
    with transaction(ctx.sessions) as s:
        kinds = s.scalars(
            select(TicketEvent.kind).join(Ticket).where(Ticket.reference == ref).order_by(TicketEvent.id)
        ).all()
    assert kinds[-1] == "delivery_retried"
    r = client.post(f"{DELIVERIES}/{note_id}/retry", headers=officer.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "already_sent"


def test_leases_that_run_out_unreported_cost_no_retry(client, factory, ctx):
    """A claim whose lease runs out with no report (a worker killed, the service down past the lease) is no
    failed send: only reported failures count against the budget, so a passing failure after several such
    claims is still retried."""
    with_delays(ctx, 0.3)  # one retry: a budget of two reported failures
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    for _ in range(3):  # three workers die holding it
        assert [i["id"] for i in claim(client, lease=1)] == [note_id]
        time.sleep(1.1)
    [item] = claim(client)
    assert item["attempts"] == 4
    failed(client, note_id, "telegram_network", attempt=item["attempts"])
    note = row(ctx, note_id)
    assert note.status == OutboxStatus.PENDING, "the expired leases used up the retries"
    assert (note.attempts, note.failures) == (4, 1)
    time.sleep(0.4)
    [item] = claim(client)
    failed(client, note_id, "telegram_network", attempt=item["attempts"])
    note = row(ctx, note_id)
    assert note.status == OutboxStatus.FAILED  # the second reported failure spends the budget
    assert note.failures == 2


def test_a_permanent_failure_fails_at_once(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    claim(client)
    failed(client, note_id, "telegram_forbidden", retryable=False)
    note = row(ctx, note_id)
    assert note.status == OutboxStatus.FAILED
    assert note.last_error == "telegram_forbidden"


def test_a_failure_report_from_an_expired_claim_is_ignored(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    claim(client, lease=1)
    time.sleep(1.2)
    [current] = claim(client)  # another worker holds it now
    failed(client, note_id, "timeout", retryable=False, attempt=1)  # the first worker, late
    assert row(ctx, note_id).status == OutboxStatus.PENDING
    failed(client, note_id, "timeout", retryable=False, attempt=current["attempts"])
    assert row(ctx, note_id).status == OutboxStatus.FAILED


def test_error_codes_are_short_codes_not_text(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    r = client.post(f"/api/v1/outbox/{note_id}/failed", headers=SERVICE_HEADERS,
                    json={"error": "Chat with Priya Shah at 07700 900123 not found"})
    assert r.status_code == 422
    assert "Priya" not in r.text


def test_the_officer_list_pages(client, factory, ctx):
    officer, res = factory.officer(), factory.resident()
    ids = queue_messages(ctx, res.id, 5)
    for _ in claim(client):
        pass
    for note_id in ids:
        failed(client, note_id, "bad_request", retryable=False)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(DELIVERIES, headers=officer.headers, params=params).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    # A cursor beyond any id (it overflowed PostgreSQL's integer) reads as the newest page.
    page = client.get(DELIVERIES, headers=officer.headers, params={"limit": 2, "cursor": "9999999999"})
    assert page.status_code == 200 and [i["id"] for i in page.json()["items"]] == sorted(ids, reverse=True)[:2]


# -- which channel -----------------------------------------------------------------------------------


def test_a_message_goes_to_the_channel_the_ticket_was_reported_on(client, factory, ctx):
    officer, res = factory.officer(), factory.resident()
    link(ctx, res.id, "web", "session-abc")  # linked after the Telegram chat: the newest identity
    ref = report(client, res, channel="telegram")
    set_status(client, officer, ref, "triaged")
    assert claim(client, channels=["web"]) == []
    [item] = claim(client, channels=["telegram"])
    assert f"telegram:{item['external_id']}" == res.chat


def test_a_web_chat_report_is_left_for_the_web_chat(client, factory, ctx):
    officer, res = factory.officer(), factory.resident()
    link(ctx, res.id, "web", "session-abc")
    ref = report(client, res, channel="web")
    set_status(client, officer, ref, "triaged")
    assert claim(client, channels=["telegram"]) == []
    [item] = claim(client, channels=["web"])
    assert (item["channel"], item["external_id"]) == ("web", "session-abc")


def test_without_the_ticket_channel_the_newest_identity_is_used(client, factory, ctx):
    res = factory.resident(linked=False)
    link(ctx, res.id, "telegram", "111", minutes_ago=60)
    link(ctx, res.id, "web", "session-new", minutes_ago=1)
    link(ctx, res.id, "telegram", "222", minutes_ago=5)
    [note_id] = queue_messages(ctx, res.id, 1)
    assert claim(client, channels=["telegram"]) == []
    [item] = claim(client, channels=["web", "telegram"])
    assert (item["id"], item["channel"], item["external_id"]) == (note_id, "web", "session-new")
    # Two chats on one channel: the one linked last.
    with transaction(ctx.sessions) as s:
        s.execute(update(ChannelIdentity).where(ChannelIdentity.channel == "web").values(
            linked_at=utcnow() - timedelta(days=1)))
    [other] = queue_messages(ctx, res.id, 1)
    [item] = claim(client, channels=["telegram"])
    assert (item["id"], item["external_id"]) == (other, "222")


def test_a_resident_with_no_channel_left_gets_a_visible_failure(client, factory, ctx):
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    with transaction(ctx.sessions) as s:  # what /forget_me does
        s.execute(ChannelIdentity.__table__.delete().where(ChannelIdentity.resident_id == res.id))
    set_status(client, officer, ref, "triaged")
    assert claim(client, channels=["telegram", "web"]) == []
    [listed] = client.get(DELIVERIES, headers=officer.headers).json()["items"]
    assert (listed["reference"], listed["last_error"], listed["status"]) == (ref, "no_channel", "failed")


def test_an_update_nobody_collects_is_failed_for_officers_after_the_expiry(client, factory, ctx):
    """A web chat update waits for the page to be opened; after REPAIRS_OUTBOX_EXPIRE_HOURS officers see
    that the resident has not had it. Rows in a worker's hands, and recent ones, are left alone."""
    officer, res = factory.officer(), factory.resident()
    link(ctx, res.id, "web", "session-gone")
    ref = report(client, res, channel="web")
    set_status(client, officer, ref, "triaged")
    [old, leased, recent] = queue_messages(ctx, res.id, 3)
    with transaction(ctx.sessions) as s:
        s.execute(update(Notification).where(Notification.id.in_([old, leased])).values(
            created_at=utcnow() - timedelta(hours=200)))
        s.execute(update(Notification).where(Notification.id == leased).values(
            next_attempt_at=utcnow() + timedelta(minutes=5)))
        s.execute(update(Notification).where(Notification.ticket_id.is_not(None)).values(
            created_at=utcnow() - timedelta(hours=169)))
    assert sweep_once(ctx) == 2, "the old update and the ticket's message"
    assert (row(ctx, old).status, row(ctx, old).last_error) == (OutboxStatus.FAILED, "expired_unread")
    assert row(ctx, leased).status == row(ctx, recent).status == OutboxStatus.PENDING
    listed = client.get(DELIVERIES, headers=officer.headers).json()["items"]
    assert {i["last_error"] for i in listed} == {"expired_unread"} and ref in {i["reference"] for i in listed}
    assert sweep_once(ctx) == 0, "nothing twice"
    assert [i["id"] for i in claim(client, channels=["web"])] == [recent]


def test_the_service_sweeps_by_itself(settings, engine, factory, ctx):
    from fastapi.testclient import TestClient

    from repairs.app import create_app
    from repairs.context import build_context

    res = factory.resident()
    [note] = queue_messages(ctx, res.id, 1)
    with transaction(ctx.sessions) as s:
        s.execute(update(Notification).values(created_at=utcnow() - timedelta(days=30)))
    quick = build_context(settings.model_copy(update={"outbox_sweep_seconds": 0.1}), engine=engine)
    with TestClient(create_app(quick)):
        deadline = time.monotonic() + 10
        while row(ctx, note).status == OutboxStatus.PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
    assert row(ctx, note).status == OutboxStatus.FAILED


def test_messages_for_other_channels_do_not_starve_a_claim(client, factory, ctx):
    web_only = factory.resident(linked=False)
    link(ctx, web_only.id, "web", "session-1")
    queue_messages(ctx, web_only.id, 30)
    res = factory.resident()
    [mine] = queue_messages(ctx, res.id, 1)
    assert [i["id"] for i in claim(client, limit=5)] == [mine]


# -- is it fixed? --------------------------------------------------------------------------------------


def _domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


def test_completion_asks_is_it_fixed_with_buttons_the_assistant_understands(client, factory):
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    for status in ("triaged", "completed"):
        set_status(client, officer, ref, status)
    sent(client, claim(client)[0]["id"])
    [item] = claim(client)
    assert item["kind"] == "status_completed"
    assert "Is it fixed?" in item["text"]
    assert "buttons" not in item["data"]
    titles = [b["title"] for b in item["buttons"]]
    assert titles == ["Yes, it's fixed", "No, it's not fixed"]
    domain = _domain()
    for button in item["buttons"]:
        payload = button["payload"]
        assert len(payload.encode()) <= 60  # Telegram's callback_data limit, less the bot's owner tag
        intent, _, entities = payload[1:].partition("{")
        assert intent in domain["intents"], intent
        assert json.loads("{" + entities).pop("ticket_ref") == ref
        assert set(json.loads("{" + entities)) <= set(domain["entities"])
    assert json.loads("{" + item["buttons"][0]["payload"].partition("{")[2]) == {"ticket_ref": ref, "fixed": "yes"}
    assert item["buttons"][1]["payload"].startswith("/reopen_repair")


@pytest.mark.parametrize(("fixed", "score", "status"), [(False, 2, Status.REOPENED), (True, 5, Status.CLOSED)],
                         ids=["not fixed reopens", "fixed closes"])
def test_the_answer_to_is_it_fixed_moves_the_ticket_and_the_rating_is_kept(client, factory, ctx, fixed, score,
                                                                          status):
    officer, res = factory.officer(), factory.resident()
    ref = report(client, res)
    for step in ("triaged", "completed"):
        set_status(client, officer, ref, step)
    r = client.post(f"/api/v1/tickets/{ref}/rating", headers=res.headers, json={"score": score, "fixed": fixed})
    assert r.status_code == 200, r.text
    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == ref))
        assert ticket.status == status
        assert s.scalar(select(Rating.score).where(Rating.ticket_id == ticket.id)) == score


# -- who may call ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", CLAIM, {"channels": ["telegram"]}),
    ("post", "/api/v1/outbox/1/sent", None),
    ("post", "/api/v1/outbox/1/failed", {"error": "x"}),
    ("get", DELIVERIES, None),
    ("post", f"{DELIVERIES}/1/retry", None),
])
def test_no_token_is_401(client, method, path, body):
    for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
        r = client.request(method.upper(), path, headers=headers, json=body)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("path", "body"), [
    (CLAIM, {"channels": ["telegram"]}),
    ("/api/v1/outbox/1/sent", None),
    ("/api/v1/outbox/1/failed", {"error": "x"}),
])
def test_officers_and_residents_cannot_drive_delivery(client, factory, ctx, path, body):
    """Only the bot's service token claims and acknowledges. An officer's token is refused, and a
    resident only ever reaches the service through the bot, whose resident header adds nothing here."""
    officer, res = factory.officer(), factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    path = path.replace("/1/", f"/{note_id}/")
    r = client.post(path, headers=officer.headers, json=body)
    assert r.status_code == 403, r.text
    r = client.post(path, headers={"X-Resident-Channel": res.chat}, json=body)
    assert r.status_code == 401, r.text
    assert row(ctx, note_id).status == OutboxStatus.PENDING
    assert row(ctx, note_id).attempts == 0


def test_the_bot_may_list_failures_but_only_officers_retry(client, factory, ctx):
    res = factory.resident()
    [note_id] = queue_messages(ctx, res.id, 1)
    claim(client)
    failed(client, note_id, "bad_request", retryable=False)
    r = client.get(DELIVERIES, headers=SERVICE_HEADERS)
    assert [i["id"] for i in r.json()["items"]] == [note_id]
    r = client.post(f"{DELIVERIES}/{note_id}/retry", headers=SERVICE_HEADERS)
    assert r.status_code == 403
    assert row(ctx, note_id).status == OutboxStatus.FAILED


def test_claim_bodies_are_checked(client):
    for body in ({"channels": []}, {"channels": ["carrier_pigeon"]}, {"channels": ["telegram"], "limit": 0},
                 {"channels": ["telegram"], "limit": 201}, {"channels": ["telegram"], "lease_seconds": 0},
                 {"channels": ["telegram"], "extra": 1}):
        r = client.post(CLAIM, headers=SERVICE_HEADERS, json=body)
        assert r.status_code == 422, body


# -- concurrency --------------------------------------------------------------------------------------


def test_concurrent_claimers_never_get_the_same_row(live_server, factory, ctx):
    residents = [factory.resident() for _ in range(4)]
    ids = set()
    for res in residents:
        ids.update(queue_messages(ctx, res.id, 60))
    got: list[list[int]] = [[] for _ in range(4)]
    errors: list[str] = []
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        with httpx.Client(base_url=live_server.url, headers=SERVICE_HEADERS, timeout=30) as http:
            barrier.wait()
            while True:
                r = http.post(CLAIM, json={"limit": 7, "lease_seconds": 60, "channels": ["telegram"]})
                if r.status_code != 200:
                    errors.append(r.text)
                    return
                items = r.json()["items"]
                if not items:
                    return
                for item in items:
                    got[n].append(item["id"])
                    if http.post(f"/api/v1/outbox/{item['id']}/sent").status_code != 204:
                        errors.append("sent failed")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    everything = [i for claimed in got for i in claimed]
    assert len(everything) == len(set(everything)), "a row was claimed twice"
    assert set(everything) == ids
    assert sum(1 for claimed in got if claimed) >= 2, "the claimers did not overlap"
    with transaction(ctx.sessions) as s:
        attempts = s.scalars(select(Notification.attempts)).all()
    assert set(attempts) == {1}


# -- the claim's plan ----------------------------------------------------------------------------------


def test_the_claim_walks_the_outbox_index_in_order(engine, ctx, factory):
    """With 20,000 rows pending, a join to tickets made PostgreSQL filter and sort them all (200 ms a claim);
    walking ix_outbox_status_next in order and stopping at the limit took 12 ms."""
    from repairs.notifications.delivery import claimable

    res = factory.resident()
    with transaction(ctx.sessions) as s:
        s.execute(Notification.__table__.insert(), [
            {"delivery_key": f"plan:{i}", "resident_id": res.id, "kind": "test", "payload": {"text": "x"},
             "status": "pending", "attempts": 0, "next_attempt_at": utcnow(), "created_at": utcnow()}
            for i in range(5000)
        ])
    query = claimable(["telegram"], now=utcnow(), limit=50)
    compiled = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
        if engine.dialect.name == "postgresql":
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + compiled))
            outer = plan.split("SubPlan")[0]  # the main scan, before the correlated subqueries
            assert "ix_outbox_status_next" in outer, plan
            assert "Sort" not in outer, plan
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled).all()
            outer = "\n".join(str(detail) for _id, parent, _unused, detail in rows if parent == 0)
            assert "USING INDEX ix_outbox_status_next" in outer, outer
            assert "TEMP B-TREE FOR ORDER BY" not in outer, outer  # (the subqueries' own sorts are tiny)
