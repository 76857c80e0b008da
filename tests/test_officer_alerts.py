"""Emergency alerts: a new emergency writes an alert for the officers' Telegram group in the same transaction,
delivery routes it to that group, taps on its buttons are acknowledged or assigned for the officer whose
Telegram user id is linked, and the workspace lists emergencies nobody has acknowledged."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from repairs.alerts.models import EmergencyAlert
from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.tickets.models import Ticket, TicketEvent
from tests.conftest import SERVICE_HEADERS

GROUP = "-1001234567890"
CLAIM = "/api/v1/outbox/claim"
GAS = {"category": "heating", "description": "I can smell gas near the boiler", "location": "kitchen"}
DRIP = {"category": "plumbing", "description": "The kitchen tap drips all the time", "location": "kitchen"}


@pytest.fixture
def group(ctx) -> str:
    """The officers' group is configured (the setting is read per request)."""
    ctx.settings.officer_alert_chat = GROUP
    return GROUP


def report(client, res, body=GAS) -> dict:
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def alert_rows(ctx) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(Notification).where(Notification.kind == "officer_alert")
                              .order_by(Notification.id)))


def alert_id(ctx, reference: str) -> int:
    with transaction(ctx.sessions) as s:
        found = s.scalar(
            select(EmergencyAlert.id).join(Ticket, Ticket.id == EmergencyAlert.ticket_id)
            .where(Ticket.reference == reference)
        )
        assert found is not None
        return found


def link(client, officer, telegram_user_id: int | None) -> httpx.Response:
    """Link as an officer does: a one-time code from the service, sent to the bot from that Telegram account
    (the bot's call is made directly here; tests/test_officer_telegram_link.py goes through the bot)."""
    if telegram_user_id is None:
        return client.delete("/api/v1/officer/me/telegram", headers=officer.headers)
    code = client.post("/api/v1/officer/me/telegram/link-code", headers=officer.headers)
    assert code.status_code == 201, code.text
    return client.post("/api/v1/telegram/officer-links", headers=SERVICE_HEADERS,
                       json={"code": code.json()["code"], "telegram_user_id": telegram_user_id})


def tap(client, alert: int, action: str, user: int, chat: str = GROUP) -> httpx.Response:
    return client.post(f"/api/v1/alerts/{alert}/telegram-actions", headers=SERVICE_HEADERS,
                       json={"action": action, "telegram_user_id": user, "chat_id": int(chat)})


# -- raising ------------------------------------------------------------------------------------------


def test_an_emergency_alerts_the_group_without_the_residents_details(client, factory, ctx, group):
    res = factory.resident(name="Amelia Pemberton-Smythe", block="Birch Court")
    ticket = report(client, res)
    rows = alert_rows(ctx)
    assert len(rows) == 1
    row = rows[0]
    assert (row.channel, row.external_id, row.resident_id, row.ticket_id) == ("telegram", GROUP, None, None)
    text = row.payload["text"]
    assert ticket["reference"] in text and "EMERGENCY" in text
    assert "Birch Court" in text and "emergency" in text
    # Nothing about the resident or their words: the group is wider than the officer who takes the job.
    for private in ("Amelia", "Pemberton", "smell gas", res.postcode, "Flat"):
        assert private not in text
    titles = [b["title"] for b in row.payload["buttons"]]
    assert titles == ["Acknowledge", "Assign to me"]
    with transaction(ctx.sessions) as s:
        alert = s.scalar(select(EmergencyAlert))
        assert alert is not None and alert.acknowledged_at is None


def test_a_routine_repair_raises_no_alert(client, factory, ctx, group):
    report(client, factory.resident(), DRIP)
    assert alert_rows(ctx) == []
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(EmergencyAlert)) is None


def test_without_a_group_the_workspace_still_hears(client, factory, ctx):
    officer = factory.officer()
    ticket = report(client, factory.resident())
    assert alert_rows(ctx) == []
    r = client.get("/api/v1/officer/alerts", headers=officer.headers)
    assert r.status_code == 200, r.text
    assert [a["reference"] for a in r.json()["items"]] == [ticket["reference"]]
    assert r.json()["total"] == 1


def test_an_open311_emergency_alerts_too(client, ctx, group):
    from repairs.auth.models import ApiKey
    from repairs.auth.secrets import digest

    key = "fms-test-key-" + "k" * 24
    with transaction(ctx.sessions) as s:
        s.add(ApiKey(name="fixmystreet", key_hash=digest(key)))
    r = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "gas", "lat": "51.5390", "long": "-0.1426",
        "description": "Strong smell of gas by the meter cupboard on the landing", "email": "robin@example.org",
        "attribute[location_type]": "communal", "attribute[location]": "landing"})
    assert r.status_code == 201, r.text
    rows = alert_rows(ctx)
    assert len(rows) == 1 and "robin" not in rows[0].payload["text"]


# -- delivery -----------------------------------------------------------------------------------------


def test_delivery_claims_the_alert_for_the_group_and_residents_updates_do_not_wait(client, factory, ctx, group):
    officer = factory.officer()
    res = factory.resident()
    ticket = report(client, res)
    # The resident's own update about the same ticket, while the alert is still pending.
    r = client.post(f"/api/v1/officer/tickets/{ticket['reference']}/status", headers=officer.headers,
                    json={"status": "triaged"})
    assert r.status_code == 200, r.text
    r = client.post(CLAIM, headers=SERVICE_HEADERS, json={"channels": ["telegram"], "limit": 1})
    assert r.status_code == 200
    first = r.json()["items"]
    assert [(i["kind"], i["external_id"]) for i in first] == [("officer_alert", GROUP)]
    assert [b["payload"] for b in first[0]["buttons"]] == [f"o|ack:{alert_id(ctx, ticket['reference'])}",
                                                           f"o|assign:{alert_id(ctx, ticket['reference'])}"]
    # The alert is leased, not sent: the resident's update on that ticket is still claimable.
    r = client.post(CLAIM, headers=SERVICE_HEADERS, json={"channels": ["telegram"], "limit": 10})
    items = r.json()["items"]
    assert [(i["kind"], i["external_id"]) for i in items] == [("status_triaged", res.chat.split(":")[1])]


def test_a_web_chat_pull_never_takes_the_groups_alert(client, factory, ctx, group):
    res = factory.resident()
    report(client, res)
    r = client.post(CLAIM, headers=SERVICE_HEADERS,
                    json={"channels": ["telegram"], "external_id": res.chat.split(":")[1]})
    assert all(i["kind"] != "officer_alert" for i in r.json()["items"])
    r = client.post(CLAIM, headers=SERVICE_HEADERS, json={"channels": ["web"]})
    assert r.json()["items"] == []
    assert [n.status.value for n in alert_rows(ctx)] == ["pending"]


# -- taps in the group ----------------------------------------------------------------------------------


def test_a_tap_by_someone_who_is_not_a_known_officer_is_answered_plainly(client, factory, ctx, group):
    ticket = report(client, factory.resident())
    r = tap(client, alert_id(ctx, ticket["reference"]), "acknowledge", 5550001)
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "unknown_officer"
    assert "link code" in body["detail"]  # tells them how to link from the workspace
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(EmergencyAlert.acknowledged_at)) is None


def test_a_tap_outside_the_officers_group_does_nothing(client, factory, ctx, group):
    officer = factory.officer()
    assert link(client, officer, 5550002).status_code == 200
    ticket = report(client, factory.resident())
    r = tap(client, alert_id(ctx, ticket["reference"]), "assign", 5550002, chat="-1009999")
    assert r.status_code == 403 and r.json()["code"] == "not_officers_chat"
    ctx.settings.officer_alert_chat = None
    r = tap(client, alert_id(ctx, ticket["reference"]), "assign", 5550002)
    assert r.status_code == 403 and r.json()["code"] == "not_officers_chat"


def test_only_the_service_token_may_report_taps(client, factory, ctx, group):
    officer = factory.officer()
    ticket = report(client, factory.resident())
    r = client.post(f"/api/v1/alerts/{alert_id(ctx, ticket['reference'])}/telegram-actions", headers=officer.headers,
                    json={"action": "assign", "telegram_user_id": 1, "chat_id": int(GROUP)})
    assert r.status_code == 403


def test_acknowledge_then_assign_are_recorded_with_the_officer(client, factory, ctx, group):
    jo = factory.officer()
    assert link(client, jo, 5550003).status_code == 200
    ticket = report(client, factory.resident())
    alert = alert_id(ctx, ticket["reference"])

    r = tap(client, alert, "acknowledge", 5550003)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "acknowledged"
    assert r.json()["acknowledged_by"] == "Test Officer" and r.json()["assigned_to"] is None
    r = tap(client, alert, "acknowledge", 5550003)
    assert r.json()["outcome"] == "already_acknowledged"

    r = tap(client, alert, "assign", 5550003)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "assigned" and r.json()["assigned_to"] == "Test Officer"
    assert tap(client, alert, "assign", 5550003).json()["outcome"] == "already_assigned"

    with transaction(ctx.sessions) as s:
        t = s.scalar(select(Ticket).where(Ticket.reference == ticket["reference"]))
        assert t is not None and t.assigned_officer_id == jo.id
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)).all()
        kinds = [(e.kind, e.actor_type, e.actor_id) for e in events]
        assert ("alert_acknowledged", "officer", str(jo.id)) in kinds
        assert ("assigned", "officer", str(jo.id)) in kinds
        assert sum(1 for e in events if e.kind == "alert_acknowledged") == 1
        ack = next(e for e in events if e.kind == "alert_acknowledged")
        assert ack.data == {"via": "telegram"}
    # Acknowledged: off the workspace banner.
    r = client.get("/api/v1/officer/alerts", headers=jo.headers)
    assert r.json() == {"items": [], "total": 0}


def test_assign_to_me_leaves_a_job_someone_else_holds(client, factory, ctx, group):
    jo, sam = factory.officer(), factory.officer()
    assert link(client, jo, 5550004).status_code == 200
    assert link(client, sam, 5550005).status_code == 200
    ticket = report(client, factory.resident())
    alert = alert_id(ctx, ticket["reference"])
    assert tap(client, alert, "assign", 5550004).json()["outcome"] == "assigned"
    r = tap(client, alert, "assign", 5550005)
    assert r.status_code == 409
    assert r.json()["code"] == "assigned_to_other" and "Test Officer" in r.json()["detail"]
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Ticket.assigned_officer_id).where(Ticket.reference == ticket["reference"])) == jo.id


def test_two_officers_tapping_at_once_one_gets_the_job(live_server, factory, ctx, group):
    officers = [factory.officer() for _ in range(4)]
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        for n, officer in enumerate(officers):
            assert link(http, officer, 5560000 + n).status_code == 200
        res = factory.resident()
        ticket = report(http, res)
        alert = alert_id(ctx, ticket["reference"])
        results: list[int] = []
        barrier = threading.Barrier(len(officers))

        def go(n: int) -> None:
            barrier.wait()
            results.append(tap(http, alert, "assign", 5560000 + n).status_code)

        threads = [threading.Thread(target=go, args=(n,)) for n in range(len(officers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sorted(results) == [200] + [409] * (len(officers) - 1)
    with transaction(ctx.sessions) as s:
        t = s.scalar(select(Ticket).where(Ticket.reference == ticket["reference"]))
        assert t is not None
        assigned = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id,
                                                       TicketEvent.kind == "assigned")).all()
        assert len(assigned) == 1 and t.assigned_officer_id == assigned[0].data["officer_id"]


# -- the officer's side -------------------------------------------------------------------------------


def test_a_telegram_user_links_to_one_officer_only_and_can_unlink(client, factory):
    jo, sam = factory.officer(), factory.officer()
    assert link(client, jo, 5550006).status_code == 200
    r = link(client, sam, 5550006)
    assert r.status_code == 409 and r.json()["code"] == "telegram_user_taken"
    assert link(client, jo, None).status_code == 204
    assert link(client, sam, 5550006).status_code == 200


def test_acknowledge_from_the_api_and_who_may(client, factory, ctx):
    officer = factory.officer()
    ticket = report(client, factory.resident())
    alert = alert_id(ctx, ticket["reference"])
    assert client.get("/api/v1/officer/alerts").status_code == 401
    assert client.get("/api/v1/officer/alerts", headers=SERVICE_HEADERS).status_code == 403
    r = client.post(f"/api/v1/officer/alerts/{alert}/acknowledge", headers=officer.headers)
    assert r.status_code == 200 and r.json()["outcome"] == "acknowledged"
    assert client.post("/api/v1/officer/alerts/99999/acknowledge", headers=officer.headers).status_code == 404
    assert client.get("/api/v1/officer/alerts", headers=officer.headers).json()["total"] == 0


def _sent(client, note_id: int, message_id: str | None = None) -> httpx.Response:
    body = {"message_id": message_id} if message_id is not None else None
    return client.post(f"/api/v1/outbox/{note_id}/sent", headers=SERVICE_HEADERS, json=body)


def test_taken_in_the_workspace_or_the_api_the_groups_message_is_edited_to_say_who_has_it(client, factory, ctx,
                                                                                         group):
    officer = factory.officer()
    first, second = report(client, factory.resident()), report(client, factory.resident())
    [original, other] = alert_rows(ctx)
    # The bot says which message it sent; the service keeps it for the group's row only.
    assert _sent(client, original.id, "4242").status_code == 204
    assert _sent(client, original.id, "4242").status_code == 204, "repeated: nothing changes"
    assert _sent(client, other.id).status_code == 204, "no message id (an older bot): still recorded as sent"
    assert _sent(client, original.id, "not-a-number").status_code == 422

    r = client.post(f"/api/v1/officer/alerts/{alert_id(ctx, first['reference'])}/acknowledge",
                    headers=officer.headers)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/officer/alerts/{alert_id(ctx, first['reference'])}/assign-to-me",
                    headers=officer.headers)
    assert r.status_code == 200, r.text
    # The other alert's message was never reported with an id: there is nothing to edit, and nothing queued.
    r = client.post(f"/api/v1/officer/alerts/{alert_id(ctx, second['reference'])}/acknowledge",
                    headers=officer.headers)
    assert r.status_code == 200, r.text

    with transaction(ctx.sessions) as s:
        edits = list(s.scalars(select(Notification).where(Notification.kind == "officer_alert_update")
                               .order_by(Notification.id)))
        assert [(n.external_id, n.payload["edit_message_id"]) for n in edits] == [(GROUP, "4242"), (GROUP, "4242")]
        assert [[b["title"] for b in n.payload["buttons"]] for n in edits] == [
            ["✓ Acknowledged by Test Officer", "Assign to me"], ["✓ Assigned to Test Officer"]]
        assert all(n.resident_id is None and n.ticket_id is None for n in edits)


def test_a_tap_in_the_group_queues_no_edit_the_bot_edits_its_own_message(client, factory, ctx, group):
    officer = factory.officer()
    assert link(client, officer, 5550001).status_code == 200
    ticket = report(client, factory.resident())
    [original] = alert_rows(ctx)
    assert _sent(client, original.id, "77").status_code == 204
    assert tap(client, alert_id(ctx, ticket["reference"]), "acknowledge", 5550001).status_code == 200
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Notification)
                        .where(Notification.kind == "officer_alert_update")) == 0


# -- through the real bot and the Telegram stand-in ------------------------------------------------------


def _callback_answer(tg, after: set[str], timeout: float = 30) -> dict:
    """The first callback answer not in `after` once the bot has answered it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = {k: v for k, v in tg.callback_answers().items() if k not in after and v["answered"]}
        if fresh:
            return next(iter(fresh.values()))
        time.sleep(0.05)
    raise TimeoutError("the bot did not answer the tap")


@contextlib.contextmanager
def group_and_bot(live_server, ctx, tmp_path) -> Iterator[tuple[Any, httpx.Client]]:
    """The real bot, polling the Telegram stand-in, with the officers' group open; and a client of the service."""
    from tests.assistant_stack import Stack
    from tests.bot_process import running_bot
    from tests.conftest import SERVICE_TOKEN
    from tests.telegram_standin import TelegramStandIn

    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        # Rasa is not needed for this: nothing listens on port 9, and the bot copes.
        stack = Stack(rasa_url="http://127.0.0.1:9", repairs_url=live_server.url, repairs_token=SERVICE_TOKEN,
                      database_url=str(ctx.settings.database_url), channel_secret="c" * 64)
        with TelegramStandIn() as tg, running_bot(tg, stack, tmp_path / "bot.log", mode="polling",
                                                  env={"BOT_DELIVERY_IDLE_MAX": "0.5"}):
            tg.open_chat(int(GROUP), chat_type="supergroup")
            yield tg, http


@pytest.mark.slow
def test_an_emergency_reaches_the_group_and_assign_to_me_assigns_it(live_server, factory, ctx, group, tmp_path):
    chat = int(GROUP)
    officer = factory.officer()
    res = factory.resident(name="Amelia Pemberton-Smythe", block="Birch Court")
    with group_and_bot(live_server, ctx, tmp_path) as (tg, http):
        assert link(http, officer, 7770001).status_code == 200
        ticket = report(http, res)
        alert = tg.wait_for(chat, lambda m: ticket["reference"] in m.body, timeout=30)
        assert alert.button_titles == ["Acknowledge", "Assign to me"]
        assert "Birch Court" in alert.body and "Amelia" not in alert.body and "gas" not in alert.body.lower()

        # Someone in the group who is not a linked officer: told plainly, with their id, and nothing done.
        seen = set(tg.callback_answers())
        tg.tap(chat, "Assign to me", from_id=7770999)
        answer = _callback_answer(tg, seen)
        assert "not linked" in answer["text"] and "link code" in answer["text"]

        seen = set(tg.callback_answers())
        tg.tap(chat, "Assign to me", from_id=7770001)
        answer = _callback_answer(tg, seen)
        assert answer["text"] == f"{ticket['reference']} assigned to Test Officer."
        edited = tg.wait_for(chat, lambda m: m.button_titles == ["✓ Assigned to Test Officer"], timeout=10)
        assert edited.message_id == alert.message_id
    bot_log = (tmp_path / "bot.log").read_text()
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Ticket.assigned_officer_id).where(Ticket.reference == ticket["reference"])) == officer.id
        assert s.scalar(select(EmergencyAlert.acknowledged_by_id)) == officer.id
    # The bot's log says what happened, never who the resident is or the ticket's words.
    assert "Amelia" not in bot_log and "smell" not in bot_log


@pytest.mark.slow
def test_taken_in_the_workspace_the_group_sees_who_has_it(live_server, factory, ctx, group, tmp_path):
    chat = int(GROUP)
    officer = factory.officer()
    res = factory.resident(block="Birch Court")
    with group_and_bot(live_server, ctx, tmp_path) as (tg, http):
        ticket = report(http, res)
        alert = tg.wait_for(chat, lambda m: ticket["reference"] in m.body, timeout=30)
        assert alert.button_titles == ["Acknowledge", "Assign to me"]
        number = alert_id(ctx, ticket["reference"])
        # The service learns the message's id once the bot has reported it sent.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not alert_rows(ctx)[0].payload.get("message_id"):
            time.sleep(0.1)
        assert alert_rows(ctx)[0].payload.get("message_id") == str(alert.message_id)

        assert http.post(f"/api/v1/officer/alerts/{number}/acknowledge",
                         headers=officer.headers).status_code == 200
        edited = tg.wait_for(chat, lambda m: m.message_id == alert.message_id
                             and m.button_titles == ["✓ Acknowledged by Test Officer", "Assign to me"], timeout=15)
        assert edited.body == alert.body, "only the buttons change"
        assert http.post(f"/api/v1/officer/alerts/{number}/assign-to-me",
                         headers=officer.headers).status_code == 200
        tg.wait_for(chat, lambda m: m.message_id == alert.message_id
                    and m.button_titles == ["✓ Assigned to Test Officer"], timeout=15)
        assert len([m for m in tg.sent(chat)]) == 1, "edited, never a second message"
    with transaction(ctx.sessions) as s:
        states = s.scalars(select(Notification.status).where(Notification.kind == "officer_alert_update")).all()
    assert [str(getattr(x, "value", x)) for x in states] == ["sent", "sent"]


# -- the workspace: banner and alerts page -----------------------------------------------------------------


def test_the_banner_shows_on_every_page_until_someone_takes_it(client, factory, ctx):
    from tests.workspace_client import csrf_of, sign_in

    officer = factory.officer()
    ticket = report(client, factory.resident(block="Birch Court"))
    assert sign_in(client, officer.email, officer.password).status_code == 303
    queue = client.get("/officer/queue")
    assert "1 emergency repair not yet acknowledged" in queue.text
    assert f'href="/officer/tickets/{ticket["reference"]}"' in queue.text and "Birch Court" in queue.text
    page = client.get("/officer/alerts")
    assert page.status_code == 200 and ticket["reference"] in page.text
    alert = alert_id(ctx, ticket["reference"])
    r = client.post(f"/officer/alerts/{alert}/assign", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert f"{ticket['reference']} is assigned to you." in done.text
    assert "not yet acknowledged" not in client.get("/officer/queue").text
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Ticket.assigned_officer_id).where(Ticket.reference == ticket["reference"])) == officer.id
        event = s.scalar(select(TicketEvent).where(TicketEvent.kind == "alert_acknowledged"))
        assert event is not None and event.data == {"via": "workspace"} and event.actor_id == str(officer.id)


def test_the_alerts_page_links_a_telegram_account_with_a_one_time_code(client, factory, ctx, group):
    from tests.workspace_client import csrf_of, sign_in

    officer = factory.officer()
    assert sign_in(client, officer.email, officer.password).status_code == 303
    page = client.get("/officer/alerts")
    assert "Your Telegram account is not linked." in page.text
    assert 'name="telegram_user_id"' not in page.text  # no typing an id: it proved nothing
    shown = client.post("/officer/alerts/telegram/code", data={"csrf_token": csrf_of(page)})
    assert shown.status_code == 200
    code = re.search(r"<code>/link ([A-Z0-9]{8})</code>", shown.text)
    assert code, shown.text
    assert "t.me" not in shown.text  # no bot username set: the instruction only
    assert "no-store" in shown.headers["cache-control"]
    # Not linked until the code comes back from Telegram; the page says a code is waiting.
    waiting = client.get("/officer/alerts")
    assert "A code made earlier works" in waiting.text and code.group(1) not in waiting.text
    r = client.post("/api/v1/telegram/officer-links", headers=SERVICE_HEADERS,
                    json={"code": code.group(1), "telegram_user_id": 4440001})
    assert r.status_code == 200, r.text
    linked = client.get("/officer/alerts")
    assert "Your Telegram account is linked." in linked.text
    ticket = report(client, factory.resident())
    assert tap(client, alert_id(ctx, ticket["reference"]), "acknowledge", 4440001).json()["acknowledged_by"]
    r = client.post("/officer/alerts/telegram/unlink", data={"csrf_token": csrf_of(linked)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Your Telegram account is no longer linked." in client.get(r.headers["location"]).text


def test_in_the_browser_the_banner_leads_to_the_alert_and_assign_to_me(browser, live_server, factory, ctx,
                                                                      backend):
    """Headless Chromium (Debian's, through Playwright): the banner on the queue, the alerts page by keyboard,
    and its reflow at 200% zoom. Screenshots go to test-artifacts/."""
    from tests.conftest import ROOT

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    officer = factory.officer()
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        ticket = report(http, factory.resident(block="Birch Court"))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto("/officer/login")
        page.get_by_label("E-mail address").fill(officer.email)
        page.get_by_label("Password").fill(officer.password)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url("**/officer/queue")
        banner = page.locator("section.alerts-banner")
        assert "EMERGENCY" in banner.inner_text().upper() and ticket["reference"] in banner.inner_text()
        page.screenshot(path=str(artifacts / f"workspace-alert-banner-{backend}.png"), full_page=True)

        banner.get_by_role("link", name="Acknowledge or take it").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/officer/alerts")
        for width in (640, 320):  # 200% zoom of 1280, and a phone: nothing scrolls sideways
            page.set_viewport_size({"width": width, "height": 800})
            assert page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(artifacts / f"workspace-alerts-{backend}.png"), full_page=True)
        page.get_by_role("button", name=f"Assign to me {ticket['reference']}").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/officer/alerts?done=assigned*")
        assert page.get_by_text(f"{ticket['reference']} is assigned to you.").is_visible()
        assert page.locator("section.alerts-banner").count() == 0
        assert not refused, refused
    finally:
        context.close()
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Ticket.assigned_officer_id).where(Ticket.reference == ticket["reference"])) == officer.id


def test_an_open_page_shows_a_new_emergency_without_a_reload(browser, live_server, factory, ctx, backend):
    """The queue is open on an officer's screen when a resident reports a gas smell: the banner appears by
    itself (banner.js asks every REPAIRS_WORKSPACE_BANNER_SECONDS), and goes once someone acknowledges it."""
    ctx.settings = ctx.settings.model_copy(update={"workspace_banner_seconds": 1})
    officer = factory.officer()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    try:
        page.goto("/officer/login")
        page.get_by_label("E-mail address").fill(officer.email)
        page.get_by_label("Password").fill(officer.password)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url("**/officer/queue")
        assert page.locator("section.alerts-banner").count() == 0
        loaded = page.evaluate("performance.timeOrigin")
        with httpx.Client(base_url=live_server.url, timeout=20) as http:
            ticket = report(http, factory.resident(block="Cedar Court"))
        banner = page.locator("section.alerts-banner")
        banner.wait_for(state="visible", timeout=15_000)
        assert ticket["reference"] in banner.inner_text()
        assert page.evaluate("performance.timeOrigin") == loaded, "the same page, not a reload"
        with httpx.Client(base_url=live_server.url, timeout=20) as http:
            token = http.post("/api/v1/auth/token", json={"email": officer.email, "password": officer.password})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            r = http.post(f"/api/v1/officer/alerts/{alert_id(ctx, ticket['reference'])}/acknowledge", headers=headers)
            assert r.status_code == 200, r.text
        banner.wait_for(state="detached", timeout=15_000)
        assert not refused, refused
    finally:
        context.close()
