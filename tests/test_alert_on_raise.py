"""A ticket that becomes an emergency after it was reported alerts the officers exactly as a new emergency
does (the Telegram group through the outbox, and the workspace banner), once per ticket, however many
replicas raise it at once. Today the one path that raises an existing ticket's priority is a merge: the main
ticket takes the more urgent priority of the duplicate merged into it."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from repairs.alerts.models import EmergencyAlert
from repairs.alerts.raising import raise_alert
from repairs.database import transaction, utcnow
from repairs.notifications.models import Notification
from repairs.tickets.models import Ticket
from tests.test_api_officer import QUEUE, report
from tests.workspace_client import csrf_of, sign_in

GROUP = "-1001234567890"
FLOOD = {"category": "plumbing", "description": "Water pouring through the ceiling, cannot stop it"}
DRIP = {"category": "plumbing", "description": "The kitchen tap drips all the time"}


def alerts_for(ctx, ref: str) -> list[EmergencyAlert]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(EmergencyAlert).join(Ticket, Ticket.id == EmergencyAlert.ticket_id)
                              .where(Ticket.reference == ref)))


def group_messages_for(ctx, ref: str) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        rows = s.scalars(select(Notification).where(Notification.kind == "officer_alert").order_by(Notification.id))
        return [n for n in rows if n.payload.get("reference") == ref]


def merge(client, officer, duplicate: str, into: str) -> None:
    r = client.post(f"{QUEUE}/{duplicate}/merge", headers=officer.headers, json={"into": into})
    assert r.status_code == 200, r.text


def test_a_routine_ticket_raised_to_emergency_by_a_merge_alerts_the_group_and_the_banner(client, factory, ctx):
    ctx.settings.officer_alert_chat = GROUP
    officer = factory.officer()
    main = report(client, factory.resident(block="Birch Court"), **DRIP)
    dup = report(client, factory.resident(name="Amelia Pemberton-Smythe"), **FLOOD)
    assert (main["priority"], dup["priority"]) == ("routine", "emergency")
    assert alerts_for(ctx, main["reference"]) == []  # a routine report alerts nobody
    before = utcnow()

    merge(client, officer, dup["reference"], main["reference"])

    [alert] = alerts_for(ctx, main["reference"])
    # Raised now, not when the routine report came in: the banner and the alerts page say when it became one.
    assert alert.raised_at >= before - timedelta(seconds=1) and alert.acknowledged_at is None
    [message] = group_messages_for(ctx, main["reference"])
    assert (message.channel, message.external_id, message.resident_id) == ("telegram", GROUP, None)
    text = message.payload["text"]
    assert f"EMERGENCY repair {main['reference']}" in text and "Priority: emergency" in text
    assert f"Raised to emergency: {dup['reference']} was merged into it" in text
    assert "Birch Court" in text
    for private in ("Amelia", "Pemberton", "pouring", "drips"):
        assert private not in text
    assert [b["payload"] for b in message.payload["buttons"]] == [f"o|ack:{alert.id}", f"o|assign:{alert.id}"]

    # The workspace shows it like any other emergency, and it is acknowledged the same way.
    listed = client.get("/api/v1/officer/alerts", headers=officer.headers).json()
    assert main["reference"] in [a["reference"] for a in listed["items"]]
    r = client.post(f"/api/v1/officer/alerts/{alert.id}/acknowledge", headers=officer.headers)
    assert r.status_code == 200 and r.json()["outcome"] == "acknowledged"


def test_a_merge_in_the_workspace_raises_it_too_and_the_banner_shows_it(client, factory, ctx):
    officer = factory.officer()
    main = report(client, factory.resident(block="Cedar Court"), **DRIP)["reference"]
    dup = report(client, factory.resident(), **FLOOD)["reference"]
    # The duplicate's own alert is acknowledged, so the banner can only be showing the main ticket's.
    [dup_alert] = alerts_for(ctx, dup)
    assert client.post(f"/api/v1/officer/alerts/{dup_alert.id}/acknowledge", headers=officer.headers).status_code == 200
    assert sign_in(client, officer.email, officer.password).status_code == 303
    page = client.get(f"/officer/tickets/{dup}")
    assert "not yet acknowledged" not in page.text
    r = client.post(f"/officer/tickets/{dup}/merge", data={"csrf_token": csrf_of(page), "into": main},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert len(alerts_for(ctx, main)) == 1
    assert group_messages_for(ctx, main) == []  # no group configured: the workspace only
    queue = client.get("/officer/queue").text
    assert "1 emergency repair not yet acknowledged" in queue
    assert f'href="/officer/tickets/{main}"' in queue and "Cedar Court" in queue


def test_a_ticket_that_was_already_an_emergency_is_not_alerted_again(client, factory, ctx):
    ctx.settings.officer_alert_chat = GROUP
    officer = factory.officer()
    main = report(client, factory.resident(), **FLOOD)["reference"]
    assert len(alerts_for(ctx, main)) == 1 and len(group_messages_for(ctx, main)) == 1
    merge(client, officer, report(client, factory.resident(), **FLOOD)["reference"], main)
    merge(client, officer, report(client, factory.resident(), **DRIP)["reference"], main)
    assert len(alerts_for(ctx, main)) == 1 and len(group_messages_for(ctx, main)) == 1


def test_merging_routine_into_routine_alerts_nobody(client, factory, ctx):
    ctx.settings.officer_alert_chat = GROUP
    officer = factory.officer()
    main = report(client, factory.resident(), **DRIP)["reference"]
    merge(client, officer, report(client, factory.resident(), **DRIP)["reference"], main)
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(EmergencyAlert)) == 0
        assert s.scalar(select(func.count()).select_from(Notification)
                        .where(Notification.kind == "officer_alert")) == 0


def test_two_replicas_raising_the_same_ticket_at_once_make_one_alert_and_one_message(client, factory, ctx, backend):
    """The unique ticket id decides, not process memory: two transactions raise it at the same moment. (On
    PostgreSQL both are inside their transactions before either inserts; SQLite's writers take turns from
    BEGIN IMMEDIATE, so there they start together and the second one's transaction waits.)"""
    ref = report(client, factory.resident(), **DRIP)["reference"]
    barrier = threading.Barrier(2)
    results: list[int | None] = []
    errors: list[BaseException] = []

    def replica() -> None:
        try:
            if backend == "sqlite":
                barrier.wait(timeout=10)
            with transaction(ctx.sessions) as s:
                ticket = s.scalars(select(Ticket).where(Ticket.reference == ref)).one()
                if backend == "postgresql":
                    barrier.wait(timeout=10)
                results.append(raise_alert(s, ctx.policy, ticket, block=None, telegram_chat=GROUP))
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(results) == 2 and results.count(None) == 1  # one made it, the other found it made
    assert len(alerts_for(ctx, ref)) == 1
    [message] = group_messages_for(ctx, ref)
    assert message.payload["alert_id"] == alerts_for(ctx, ref)[0].id
