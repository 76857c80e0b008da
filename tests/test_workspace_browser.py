"""The officer workspace in a real headless Chromium (Debian's /usr/bin/chromium, through Playwright)
against the repairs service on a real local port: sign in with the keyboard, find the emergency at the
top of the queue, filter, reflow at 200% zoom, and sign out. Screenshots go to test-artifacts/
(git-ignored). No skip without Chromium: a browser test that does not run must not pass."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Browser, Page

from repairs.auth.models import Role
from tests.conftest import ROOT, SERVICE_HEADERS, LiveServer
from tests.factories import Factory

ARTIFACTS = ROOT / "test-artifacts"


def report(server: LiveServer, chat: str, category: str, description: str) -> str:
    headers = {**SERVICE_HEADERS, "X-Resident-Channel": chat, "Idempotency-Key": uuid.uuid4().hex}
    body = {"category": category, "description": description, "location": "kitchen"}
    r = httpx.post(f"{server.url}/api/v1/tickets", headers=headers, json=body, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_sign_in_and_find_the_emergency_at_the_top(
    browser: Browser, live_server: LiveServer, factory: Factory, backend: str
) -> None:
    officer = factory.officer(role=Role.SUPERVISOR)
    resident = factory.resident()
    routine = [report(live_server, resident.chat, "plumbing", f"The kitchen tap drips, number {i}") for i in range(3)]
    gas = report(live_server, resident.chat, "gas", "I can smell gas near the cooker")

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        # Straight to the queue: sent to sign in first, and back again after.
        page.goto("/officer/queue?priority=")
        assert page.url.startswith(f"{live_server.url}/officer/login?next=")
        page.get_by_label("E-mail address").fill(officer.email)
        page.get_by_label("Password").fill(officer.password)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url(re.compile(r"/officer/queue"))
        assert page.get_by_role("heading", name="Repairs queue").is_visible()

        # The emergency leads, marked in words as well as colour.
        first = page.locator("tbody tr").first
        assert gas in first.inner_text() and "EMERGENCY" in first.inner_text().upper()
        assert "queue__row--emergency" in (first.get_attribute("class") or "")
        colour = first.evaluate("row => getComputedStyle(row).backgroundColor")
        plain = page.locator("tbody tr").nth(1).evaluate("row => getComputedStyle(row).backgroundColor")
        assert colour != plain
        assert page.locator("tbody tr").count() == 4
        screenshot(page, "workspace-queue.png")

        # The stylesheet loaded under the strict CSP, and nothing was refused.
        assert page.evaluate("getComputedStyle(document.body).fontFamily").lower() != "times new roman"
        assert not errors, errors

        # Filters work from the keyboard: choose a category, submit with Enter.
        page.get_by_label("Category").select_option("plumbing")
        page.get_by_label("Search by reference, postcode or address").press("Enter")
        page.wait_for_url(re.compile(r"category=plumbing"))
        shown = page.locator("a.ref").all_inner_texts()
        assert sorted(shown) == sorted(routine)

        # 200% zoom of a 1280-pixel window is a 640-pixel page; and a phone at 320: nothing scrolls sideways.
        page.goto("/officer/queue")
        for width in (640, 320):
            page.set_viewport_size({"width": width, "height": 800})
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
            assert page.get_by_role("button", name="Sign out").is_visible()
        page.set_viewport_size({"width": 640, "height": 800})
        screenshot(page, "workspace-queue-200-percent.png")

        # A supervisor's own pages are in the navigation; the accounts page lists this officer.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("link", name="Accounts").click()
        page.wait_for_url(re.compile(r"/officer/accounts"))
        assert page.get_by_role("heading", name="Officer accounts").is_visible()
        assert officer.email in page.locator("table.accounts").inner_text()
        screenshot(page, "workspace-accounts.png")

        # The session cookie is out of reach of scripts, and signing out ends it.
        assert "officer_session" not in page.evaluate("document.cookie")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/officer/login\?signed_out=1"))
        assert page.get_by_text("You have signed out").is_visible()
        page.goto("/officer/queue")
        assert "/officer/login" in page.url
    finally:
        context.close()
