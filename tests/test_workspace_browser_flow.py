"""An officer's whole job on one emergency, in a real headless Chromium (Debian's /usr/bin/chromium,
through Playwright), against the repairs service on a real port and the bot's web chat as a real process
(`python -m bot`, no Telegram token): the resident's web chat is open in a second browser; the officer
signs in, opens the emergency at the top of the queue, assigns it to themselves, starts and completes it
from the ticket page; the resident's open chat page shows "Is it fixed?" within seconds, pulled from the
outbox as web chat always pulls, and the outbox rows end up sent. Screenshots go to test-artifacts/.
No skip without Chromium: a browser test that does not run must not pass."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from evaluation.rasa_process import free_port, managed_process, wait_until_ready
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.notifications.models import Notification, OutboxStatus
from repairs.residents.models import ChannelIdentity
from repairs.tickets.models import Ticket
from tests.conftest import ROOT, SERVICE_HEADERS, SERVICE_TOKEN, LiveServer
from tests.factories import Factory

ARTIFACTS = ROOT / "test-artifacts"
UPDATE_TIMEOUT_MS = 20_000  # the page polls every 2 s here


@contextmanager
def web_chat(repairs_url: str, log_file: Path) -> Iterator[str]:
    """`python -m bot` serving the web chat alone, talking to this test's repairs service. Rasa is not
    needed: updates are pulled from the repairs service's outbox, not from the assistant."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "BOT_", "RASA_", "REPAIRS_", "WEBCHAT_"))}
    env.update({"BOT_PORT": str(port), "RASA_URL": "http://127.0.0.1:9", "RASA_CHANNEL_SECRET": "c" * 64,
                "REPAIRS_API_URL": repairs_url,
                "REPAIRS_API_TOKEN": SERVICE_TOKEN, "WEBCHAT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
                "WEBCHAT_POLL_SECONDS": "2", "BOT_DELIVERY_ENABLED": "false"})
    url = f"http://127.0.0.1:{port}"
    with managed_process([sys.executable, "-m", "bot"], env, log_file) as process:
        wait_until_ready(process, lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, "bot", 60)
        yield url


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def report(server: LiveServer, chat: str, description: str) -> str:
    """A report as the action server makes it for a web chat resident."""
    headers = {**SERVICE_HEADERS, "X-Resident-Channel": chat, "Idempotency-Key": uuid.uuid4().hex}
    body = {"category": "plumbing", "description": description, "location": "kitchen", "channel": "web"}
    r = httpx.post(f"{server.url}/api/v1/tickets", headers=headers, json=body, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def outbox(ctx: ServiceContext, ref: str) -> list[tuple[str, OutboxStatus, str | None]]:
    with transaction(ctx.sessions) as s:
        rows = s.scalars(select(Notification).join(Ticket, Ticket.id == Notification.ticket_id)
                         .where(Ticket.reference == ref).order_by(Notification.id))
        return [(n.kind, n.status, n.channel) for n in rows]


def test_assign_and_complete_the_top_emergency_and_the_web_chat_resident_hears_it(
    browser: Browser, live_server: LiveServer, factory: Factory, ctx: ServiceContext, backend: str,
    tmp_path: Path,
) -> None:
    officer = factory.officer()
    resident = factory.resident(linked=False)
    suffix = backend

    with web_chat(live_server.url, tmp_path / "bot.log") as chat_url:
        # The resident's web chat is open: its session is the chat the repairs service knows them by.
        chat_context = browser.new_context(base_url=chat_url, viewport={"width": 480, "height": 900})
        officer_context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        try:
            chat = chat_context.new_page()
            chat.on("pageerror", lambda exc: errors.append(str(exc)))
            chat.goto("/")
            [cookie] = [c for c in chat_context.cookies() if c["name"] == "repairs_chat"]
            session_id = cookie["value"].rpartition(".")[0]
            with transaction(ctx.sessions) as s:
                s.add(ChannelIdentity(resident_id=resident.id, channel="web", external_id=session_id))
            web = f"web:{session_id}"
            routine = [report(live_server, web, f"The bathroom tap drips, number {i}") for i in range(2)]
            emergency = report(live_server, web, "Water is pouring through the kitchen ceiling and we cannot stop it")
            assert emergency not in routine

            # The officer signs in and opens the repair at the top of the queue: the emergency.
            page = officer_context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto("/officer/queue")
            page.get_by_label("E-mail address").fill(officer.email)
            page.get_by_label("Password").fill(officer.password)
            page.get_by_label("Password").press("Enter")
            page.wait_for_url(re.compile(r"/officer/queue"))
            first = page.locator("tbody tr").first
            assert emergency in first.inner_text() and "EMERGENCY" in first.inner_text().upper()
            first.get_by_role("link", name=emergency).click()
            page.wait_for_url(re.compile(rf"/officer/tickets/{emergency}$"))
            expect(page.get_by_role("heading", level=1)).to_contain_text("Emergency")
            expect(page.get_by_role("blockquote")).to_contain_text("Water is pouring through the kitchen ceiling")
            screenshot(page, f"workspace-ticket-emergency-{suffix}.png")

            # Assign it to me.
            page.get_by_role("button", name="Assign to me").click()
            page.wait_for_url(re.compile(r"\?done=assigned$"))
            expect(page.get_by_role("status")).to_contain_text("Assignment saved")
            expect(page.locator("#ticket-assignee")).to_have_text("Test Officer")

            # Start the work, then complete it, choosing from the allowed next steps with the keyboard.
            for step, label in (("in_progress", "In progress"), ("completed", "Completed")):
                status = page.get_by_label(re.compile(r"^New status"))
                status.select_option(step)
                status.focus()
                page.keyboard.press("Tab")  # the optional note
                page.keyboard.press("Tab")  # the button
                page.keyboard.press("Enter")
                page.wait_for_url(re.compile(r"\?done=status$"))
                expect(page.locator("#ticket-status")).to_have_text(label)
            timeline = page.locator(".timeline").inner_text()
            assert "Assigned" in timeline and "Test Officer" in timeline and "in progress → completed" in timeline
            screenshot(page, f"workspace-ticket-completed-{suffix}.png")
            # 200% zoom of a 1280-pixel window is a 640-pixel page: one column, nothing scrolls sideways.
            page.set_viewport_size({"width": 640, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            screenshot(page, f"workspace-ticket-200-percent-{suffix}.png")

            # The resident's open chat page shows the update, pulled from the outbox within seconds.
            log = chat.locator("#log")
            expect(log).to_contain_text(f"Work on your repair {emergency} has started", timeout=UPDATE_TIMEOUT_MS)
            expect(log).to_contain_text(f"Our operative has finished the work on {emergency}. Is it fixed?",
                                        timeout=UPDATE_TIMEOUT_MS)
            screenshot(chat, f"workspace-flow-webchat-{suffix}.png")
            # The page acknowledged each update: the outbox says sent, on the web channel, once each.
            with_status = [(k, st) for k, st, _ in outbox(ctx, emergency)]
            for _ in range(50):
                if all(st == OutboxStatus.SENT for _, st in with_status):
                    break
                chat.wait_for_timeout(200)
                with_status = [(k, st) for k, st, _ in outbox(ctx, emergency)]
            assert with_status == [("status_in_progress", OutboxStatus.SENT), ("status_completed", OutboxStatus.SENT)]
            assert {c for _, _, c in outbox(ctx, emergency)} == {"web"}
            assert log.inner_text().count(f"finished the work on {emergency}") == 1
            assert not errors, errors
        finally:
            officer_context.close()
            chat_context.close()
