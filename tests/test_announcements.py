"""Announcements: an officer posts planned works or an outage to a block or estate; every resident there with
a linked chat gets it once through the outbox, and the announcement is kept on record."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from repairs.announcements.models import Announcement
from repairs.database import transaction
from repairs.notifications.models import Notification
from repairs.residents.models import ChannelIdentity, Resident, Tenancy
from tests.conftest import SERVICE_HEADERS

URL = "/api/v1/officer/announcements"
WORDS = "The water will be off on Tuesday from 9am to 1pm while we replace the tank."


def post(client, officer, *, key: str | None = None, **fields) -> httpx.Response:
    body = {"kind": "planned_works", "area_kind": "block", "area": "Alder House", "text": WORDS, **fields}
    headers = dict(officer.headers)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return client.post(URL, headers=headers, json=body)


def announcement_rows(ctx) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(Notification).where(Notification.kind == "announcement")
                              .order_by(Notification.id)))


@pytest.fixture
def estate(factory):
    """Two blocks on one estate, one on another; some residents unlinked, one whose tenancy has ended."""
    alder = [factory.resident(block="Alder House", estate="Castlehaven Estate") for _ in range(3)]
    alder_unlinked = factory.resident(block="Alder House", estate="Castlehaven Estate", linked=False)
    birch = [factory.resident(block="Birch Court", estate="Castlehaven Estate") for _ in range(2)]
    elsewhere = factory.resident(block="Cedar Tower", estate="Maiden Lane Estate")
    moved_out = factory.resident(block="Alder House", estate="Castlehaven Estate")
    with transaction(factory.ctx.sessions) as s:
        resident = s.get(Resident, moved_out.id)
        assert resident is not None
        s.get(Tenancy, resident.tenancy_id).end_date = date.today() - timedelta(days=30)  # type: ignore[union-attr]
    return {"alder": alder, "alder_unlinked": alder_unlinked, "birch": birch, "elsewhere": elsewhere,
            "moved_out": moved_out}


def test_a_block_announcement_reaches_each_linked_household_once_and_is_kept(client, factory, ctx, estate):
    officer = factory.officer()
    r = post(client, officer)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["households"] == 3 and body["recipients"] == 3
    assert body["area"] == "Alder House" and body["officer_name"] == "Test Officer"
    rows = announcement_rows(ctx)
    assert sorted(n.resident_id for n in rows) == sorted(res.id for res in estate["alder"])
    assert len({n.delivery_key for n in rows}) == 3
    assert all(n.delivery_key == f"announcement:{body['id']}:resident:{n.resident_id}" for n in rows)
    text = rows[0].payload["text"]
    assert text.startswith("Planned works at Alder House") and WORDS in text
    with transaction(ctx.sessions) as s:
        kept = s.scalar(select(Announcement))
        assert kept is not None
        assert (kept.officer_id, kept.area_kind.value, kept.area, kept.text, kept.households) == (
            officer.id, "block", "Alder House", WORDS, 3)


def test_an_estate_announcement_covers_every_block_on_it(client, factory, ctx, estate):
    r = post(client, factory.officer(), area_kind="estate", area="Castlehaven Estate", kind="outage",
             text="The lifts on the estate are out of service this afternoon.")
    assert r.status_code == 201, r.text
    reached = {n.resident_id for n in announcement_rows(ctx)}
    assert reached == {res.id for res in estate["alder"] + estate["birch"]}
    assert announcement_rows(ctx)[0].payload["text"].startswith("Service outage at Castlehaven Estate")


def test_a_retried_post_never_sends_twice(client, factory, ctx, estate):
    officer = factory.officer()
    key = uuid.uuid4().hex
    first = post(client, officer, key=key)
    again = post(client, officer, key=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert len(announcement_rows(ctx)) == 3
    changed = post(client, officer, key=key, text="Something else entirely.")
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Announcement)) == 1


def test_concurrent_retries_make_one_announcement(live_server, factory, ctx, estate):
    officer = factory.officer()
    key = uuid.uuid4().hex
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        with httpx.Client(base_url=live_server.url, timeout=20) as http:
            barrier.wait()
            codes.append(post(http, officer, key=key).status_code)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert codes == [201] * 4
    assert len(announcement_rows(ctx)) == 3


def test_a_post_needs_a_key_a_known_area_and_words(client, factory, ctx, estate):
    officer = factory.officer()
    r = client.post(URL, headers=officer.headers, json={"kind": "outage", "area_kind": "block", "area": "Alder House",
                                                        "text": WORDS})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_missing"
    r = post(client, officer, area="Alder Hosue")
    assert r.status_code == 422 and r.json()["code"] == "unknown_area"
    for bad in ({"text": "   "}, {"text": "x" * 1001}, {"kind": "party"}, {"area_kind": "street"}, {"area": ""}):
        assert post(client, officer, **bad).status_code == 422, bad
    assert announcement_rows(ctx) == []


def test_only_officers_may_post_or_read(client, factory, estate):
    assert client.post(URL, json={}).status_code == 401
    assert client.get(URL).status_code == 401
    headers = {**SERVICE_HEADERS, "Idempotency-Key": "k1"}
    body = {"kind": "outage", "area_kind": "block", "area": "Alder House", "text": WORDS}
    assert client.post(URL, headers=headers, json=body).status_code == 403
    assert client.get(f"{URL}/preview", headers=SERVICE_HEADERS,
                      params={"area_kind": "block", "area": "Alder House"}).status_code == 403


def test_preview_counts_homes_and_reachable_households(client, factory, estate):
    officer = factory.officer()
    r = client.get(f"{URL}/preview", headers=officer.headers, params={"area_kind": "block", "area": "Alder House"})
    assert r.status_code == 200, r.text
    assert r.json() == {"area_kind": "block", "area": "Alder House", "homes": 5, "households": 3, "residents": 3}
    r = client.get(f"{URL}/preview", headers=officer.headers,
                   params={"area_kind": "estate", "area": "Castlehaven Estate"})
    assert (r.json()["homes"], r.json()["households"]) == (7, 5)
    r = client.get(f"{URL}/preview", headers=officer.headers, params={"area_kind": "block", "area": "Nowhere"})
    assert r.status_code == 422
    r = client.get(f"{URL}/areas", headers=officer.headers)
    assert r.json() == {"blocks": ["Alder House", "Birch Court", "Cedar Tower"],
                        "estates": ["Castlehaven Estate", "Maiden Lane Estate"]}


def test_the_record_lists_newest_first_in_pages(client, factory, estate):
    officer = factory.officer()
    ids = [post(client, officer, text=f"Notice number {n}.").json()["id"] for n in range(3)]
    r = client.get(URL, headers=officer.headers, params={"limit": 2})
    page = r.json()
    assert [a["id"] for a in page["items"]] == ids[::-1][:2]
    r = client.get(URL, headers=officer.headers, params={"limit": 2, "cursor": page["next_cursor"]})
    assert [a["id"] for a in r.json()["items"]] == ids[:1] and r.json()["next_cursor"] is None
    # A cursor beyond any id (found by the schema fuzzer: it overflowed PostgreSQL's integer) is the newest page.
    r = client.get(URL, headers=officer.headers, params={"limit": 2, "cursor": "9999999999"})
    assert r.status_code == 200 and [a["id"] for a in r.json()["items"]] == ids[::-1][:2]


def test_delivery_hands_each_resident_their_copy_on_their_channel(client, factory, ctx, estate):
    web = factory.resident(block="Alder House", linked=False)
    with transaction(ctx.sessions) as s:
        s.add(ChannelIdentity(resident_id=web.id, channel="web", external_id="web-session-1"))
    post(client, factory.officer())
    r = client.post("/api/v1/outbox/claim", headers=SERVICE_HEADERS, json={"channels": ["telegram"], "limit": 50})
    telegram = r.json()["items"]
    assert sorted(i["external_id"] for i in telegram) == sorted(res.chat.split(":")[1] for res in estate["alder"])
    # The web chat resident's copy waits for their page to ask.
    r = client.post("/api/v1/outbox/claim", headers=SERVICE_HEADERS,
                    json={"channels": ["web"], "external_id": "web-session-1"})
    assert [i["kind"] for i in r.json()["items"]] == ["announcement"]


def test_the_log_says_how_many_not_what(client, factory, estate, caplog):
    with caplog.at_level(logging.INFO):
        assert post(client, factory.officer()).status_code == 201
    assert "tank" not in caplog.text
    assert any(getattr(rec, "recipients", None) == 3 for rec in caplog.records)


# -- the workspace page ---------------------------------------------------------------------------------


def _signed_in(client, factory):
    from tests.workspace_client import sign_in

    officer = factory.officer()
    assert sign_in(client, officer.email, officer.password).status_code == 303
    return officer


def _form(page: str) -> dict[str, str]:
    import re

    from tests.workspace_client import csrf_of

    key = re.search(r'name="key" value="([^"]+)"', page)
    assert key, "the form carries no idempotency key"
    return {"csrf_token": csrf_of(page), "key": key.group(1)}


def test_the_page_previews_the_households_then_posts_once(client, factory, ctx, estate):
    _signed_in(client, factory)
    page = client.get("/officer/announcements")
    assert page.status_code == 200
    assert '<option value="block:Alder House"' in page.text and '<option value="estate:Castlehaven Estate"' in page.text
    fields = {**_form(page.text), "kind": "outage", "area": "block:Alder House", "text": WORDS}
    preview = client.post("/officer/announcements", data={**fields, "action": "preview"})
    assert preview.status_code == 200
    assert "This will go to <strong>3" in preview.text and "of 5" in preview.text
    assert announcement_rows(ctx) == []  # a preview sends nothing
    assert _form(preview.text)["key"] == fields["key"]  # the same post, once confirmed

    posted = client.post("/officer/announcements", data={**fields, "action": "post"}, follow_redirects=False)
    assert posted.status_code == 303
    again = client.post("/officer/announcements", data={**fields, "action": "post"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == posted.headers["location"]
    assert len(announcement_rows(ctx)) == 3
    page = client.get(posted.headers["location"])
    assert "Service outage at Alder House posted: on its way to 3 households" in page.text
    assert WORDS in page.text and "Test Officer" in page.text


def test_the_page_says_what_is_missing_and_sends_nothing(client, factory, ctx, estate):
    _signed_in(client, factory)
    fields = _form(client.get("/officer/announcements").text)
    r = client.post("/officer/announcements", data={**fields, "kind": "outage", "area": "", "text": " ",
                                                    "action": "post"})
    assert r.status_code == 400
    assert "Choose the block or estate" in r.text and "Write the message" in r.text
    r = client.post("/officer/announcements", data={**fields, "kind": "outage", "area": "block:Nowhere House",
                                                    "text": WORDS, "action": "post"})
    assert r.status_code == 400 and "No home we know of is in Nowhere House" in r.text
    assert announcement_rows(ctx) == []


def test_in_the_browser_preview_then_post(live_server, factory, ctx, estate, backend):
    """Headless Chromium (Debian's, through Playwright): the form by its labels, the preview, the post, and
    the page at 200% zoom. Screenshots go to test-artifacts/."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from tests.conftest import ROOT

    chromium = "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    officer = factory.officer()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}).new_page()
        try:
            page.goto("/officer/login?next=/officer/announcements")
            page.get_by_label("E-mail address").fill(officer.email)
            page.get_by_label("Password").fill(officer.password)
            page.get_by_label("Password").press("Enter")
            page.wait_for_url("**/officer/announcements")
            page.get_by_label("Service outage").check()
            page.get_by_label("Where").select_option("estate:Castlehaven Estate")
            page.get_by_label("The message").fill(WORDS)
            page.get_by_role("button", name="Preview who it reaches").click()
            page.wait_for_load_state()
            assert "This will go to 5 households" in page.locator("#a-preview").inner_text()
            assert page.get_by_label("The message").input_value() == WORDS  # the form is kept for the post
            for width in (640, 320):
                page.set_viewport_size({"width": width, "height": 800})
                assert page.evaluate(
                    "document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=str(artifacts / f"workspace-announcement-preview-{backend}.png"), full_page=True)
            page.get_by_role("button", name="Post announcement").focus()
            page.keyboard.press("Enter")
            page.wait_for_url("**/officer/announcements?posted=*")
            done = "Service outage at Castlehaven Estate posted: on its way to 5 households"
            assert page.get_by_text(done).is_visible()
            page.screenshot(path=str(artifacts / f"workspace-announcements-{backend}.png"), full_page=True)
        finally:
            browser.close()
    assert len(announcement_rows(ctx)) == 5
