"""Working a complaint in a real headless Chromium (Debian's /usr/bin/chromium, through Playwright) against
the repairs service on a real local port: from the navigation to the complaints list, open the complaint,
acknowledge it and send the answer with the keyboard and mouse as an officer would; the resident's two
messages are in the outbox. The pages reflow at 320 pixels. Screenshots go to test-artifacts/ (git-ignored).
No skip without Chromium: a browser test that does not run must not pass."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.notifications.models import Notification
from tests.conftest import ROOT, SERVICE_HEADERS, LiveServer
from tests.factories import Factory

ARTIFACTS = ROOT / "test-artifacts"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_acknowledge_and_answer_a_complaint_in_the_browser(
    browser: Browser, live_server: LiveServer, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    resident = factory.resident()
    headers = {**SERVICE_HEADERS, "X-Resident-Channel": resident.chat, "Idempotency-Key": uuid.uuid4().hex}
    made = httpx.post(f"{live_server.url}/api/v1/complaints", headers=headers, timeout=10,
                      json={"text": "I waited in all day on Tuesday and nobody came."})
    assert made.status_code == 201, made.text
    ref = str(made.json()["reference"])

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto("/officer/login")
        page.get_by_label("E-mail address").fill(officer.email)
        page.get_by_label("Password").fill(officer.password)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url(re.compile(r"/officer/queue"))

        page.get_by_role("link", name="Complaints", exact=True).click()
        page.wait_for_url(re.compile(r"/officer/complaints$"))
        row = page.locator("tbody tr").first
        assert ref in row.inner_text() and "Acknowledge:" in row.inner_text()
        screenshot(page, "workspace-complaints.png")

        page.get_by_role("link", name=ref).click()
        page.wait_for_url(re.compile(rf"/officer/complaints/{ref}$"))
        assert page.get_by_text("I waited in all day on Tuesday and nobody came.").is_visible()
        page.get_by_role("button", name="Acknowledge the complaint").click()
        page.wait_for_url(re.compile(r"done=acknowledged"))
        assert page.get_by_role("status").inner_text().startswith("Acknowledged.")

        page.get_by_label("Our answer").fill("We are sorry. A plumber will come on Thursday between 8am and 1pm.")
        page.get_by_role("button", name="Send the answer").click()
        page.wait_for_url(re.compile(r"done=answered"))
        assert page.locator("#complaint-status").inner_text() == "Answered"
        assert page.get_by_role("button", name="Escalate to stage 2").is_visible()
        screenshot(page, "workspace-complaint.png")

        # Zoomed to 200% (a 640-pixel page) and on a phone: nothing scrolls sideways.
        for width in (640, 320):
            page.set_viewport_size({"width": width, "height": 800})
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
        assert not errors, errors
    finally:
        context.close()

    with transaction(ctx.sessions) as s:
        kinds = [n.kind for n in s.scalars(select(Notification).where(Notification.resident_id == resident.id)
                                           .order_by(Notification.id))]
    assert kinds == ["complaint_acknowledged", "complaint_answered"]
