"""The web chat in a real headless Chromium against the whole assistant: the repairs service, the action
server and Rasa (tests/assistant_stack.py), and `python -m bot` without a Telegram token, each a real
process. A resident uses the keyboard alone to verify, report a leak and get a reference, and adds a
photo; a gas message gets the safety text first; the cookie's flags and the CSRF defences are checked
in the browser; an officer's change reaches a resident who was away when they next open the page, and
one who is on the page within seconds. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page

from evaluation.rasa_process import ROOT, free_port, managed_process, wait_until_ready
from tests.assistant_stack import Stack, assistant_stack

ARTIFACTS = ROOT / "test-artifacts"
TENANT = ("T-100001", "NW1 8YL")
REFERENCE = re.compile(r"\bHR-[0-9A-Z]+\b")
OFFICER_EMAIL, OFFICER_PASSWORD = "webchat-officer@council.invalid", "webchat officer password 1"
REPLY_TIMEOUT_MS = 90_000

# No skip when Chromium is missing: a browser test that does not run must not pass. `.ci/run` installs it
# (apt-get install chromium); on a developer machine the failure says what to install.


# -- the stack, the bot and the browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with assistant_stack(tmp_path_factory.mktemp("webchat-stack")) as running:
        yield running


@contextmanager
def bot_process(stack: Stack, log_file: Path, **overrides: str) -> Iterator[str]:
    """`python -m bot` with no Telegram token: the web chat alone."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "BOT_", "RASA_", "REPAIRS_", "WEBCHAT_"))}
    env.update({"BOT_PORT": str(port), "RASA_URL": stack.rasa_url, "RASA_TOKEN": stack.rasa_token,
                "RASA_CHANNEL_SECRET": stack.channel_secret,
                "REPAIRS_API_URL": stack.repairs_url, "REPAIRS_API_TOKEN": stack.repairs_token,
                "WEBCHAT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex, "WEBCHAT_POLL_SECONDS": "2",
                "BOT_DELIVERY_ENABLED": "false", **overrides})
    url = f"http://127.0.0.1:{port}"
    with managed_process([sys.executable, "-m", "bot"], env, log_file) as process:
        wait_until_ready(process, lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, "bot", 60)
        yield url


@pytest.fixture(scope="module")
def bot(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with bot_process(stack, tmp_path_factory.mktemp("webchat-bot") / "bot.log") as url:
        yield url


@pytest.fixture
def context(browser: Browser, bot: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=bot, viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    errors: list[str] = []
    limited: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("response", lambda r: limited.append(r.url) if r.status == 429 else None)
    opened.goto("/")
    yield opened
    assert not errors, errors  # no script errors along the way
    # Polling every 2 seconds (ten times the default pace) and a resident's conversation stay well
    # within the default rate limits.
    assert not limited, limited


# -- what a resident does -----------------------------------------------------------------------------


def messages(page: Page) -> int:
    return page.locator("#log .msg").count()


def wait_for_reply(page: Page, before: int) -> None:
    """Until the turn is over: the resident's message and at least one answer are in the log."""
    page.wait_for_function(
        "n => document.getElementById('typing').textContent === '' && "
        "document.querySelectorAll('#log .msg').length >= n + 2", arg=before, timeout=REPLY_TIMEOUT_MS)


def last_answers(page: Page, before: int) -> str:
    return "\n".join(page.locator("#log .msg").nth(i).inner_text() for i in range(before + 1, messages(page)))


def type_and_enter(page: Page, text: str) -> str:
    """Type in the message box (which has the focus) and press Enter; the assistant's answers."""
    assert page.evaluate("document.activeElement.id") == "message", "the message box lost the focus"
    before = messages(page)
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert page.input_value("#message") == "", "a message that was answered stays in the box"
    return last_answers(page, before)


def tab_to(page: Page, matches: Callable[[dict[str, str]], bool], *, backwards: bool = False,
           limit: int = 40) -> dict[str, str]:
    """Press Tab (or Shift+Tab) until the focused element matches; check the focus can be seen."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate("""() => {
            const el = document.activeElement, style = getComputedStyle(el);
            return {tag: el.tagName, id: el.id, text: el.textContent.trim(), outline: style.outlineStyle,
                    outlineWidth: style.outlineWidth, shadow: style.boxShadow};
        }""")
        if matches(focused):
            assert focused["outline"] != "none" and float(focused["outlineWidth"].rstrip("px")) >= 2, focused
            return focused
    raise AssertionError("could not reach the element with the keyboard")


def press_button(page: Page, title: str) -> str:
    """From the message box, Shift+Tab back to an answer button and press Enter, as a keyboard user does."""
    before = messages(page)
    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == title, backwards=True)
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    return last_answers(page, before)


def verify(page: Page, who: tuple[str, str] = TENANT) -> None:
    page.focus("#message")
    type_and_enter(page, "hello")
    assert "tenancy reference" in press_button(page, "Check my repairs")
    page.focus("#message")
    type_and_enter(page, who[0])
    assert "verified" in type_and_enter(page, who[1])


def session_id(context: BrowserContext) -> str:
    [cookie] = [c for c in context.cookies() if c["name"] == "repairs_chat"]
    return cookie["value"].rsplit(".", 1)[0]


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


# -- the service side, for checking and for officers ---------------------------------------------------


def db(stack: Stack, sql: str, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def officer(stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env.update({"REPAIRS_DATABASE_URL": stack.database_url, "REPAIRS_OFFICER_PASSWORD": OFFICER_PASSWORD})
    subprocess.run([sys.executable, "-m", "repairs", "create-officer", "--email", OFFICER_EMAIL,
                    "--name", "Web Chat Officer"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    token = httpx.post(f"{stack.repairs_url}/api/v1/auth/token",
                       json={"email": OFFICER_EMAIL, "password": OFFICER_PASSWORD}, timeout=30)
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def set_status(stack: Stack, officer: dict[str, str], reference: str, status: str) -> None:
    r = httpx.post(f"{stack.repairs_url}/api/v1/officer/tickets/{reference}/status", headers=officer,
                   json={"status": status}, timeout=30)
    assert r.status_code == 200, r.text


def report_as(stack: Stack, sid: str) -> str:
    """A repair reported by this browser's resident (through the service, to keep the test short)."""
    r = httpx.post(f"{stack.repairs_url}/api/v1/tickets", timeout=30, headers={
        "Authorization": f"Bearer {stack.repairs_token}", "X-Resident-Channel": f"web:{sid}",
        "Idempotency-Key": uuid.uuid4().hex,
    }, json={"category": "plumbing", "description": "The bath tap drips all night", "location": "bathroom",
             "channel": "web"})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def outbox_statuses(stack: Stack, reference: str) -> list[str]:
    return [row[0] for row in db(stack, "SELECT o.status FROM notification_outbox o JOIN tickets t "
                                        "ON t.id = o.ticket_id WHERE t.reference = :r ORDER BY o.id", r=reference)]


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


# -- the tests ----------------------------------------------------------------------------------------


def test_keyboard_alone_verify_report_a_leak_get_a_reference_and_add_a_photo(page: Page, stack: Stack,
                                                                              tmp_path: Path):
    # The first Tab reaches the skip link, which takes the keyboard straight to the message box.
    tab_to(page, lambda f: "Skip to the message box" in f["text"])
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "message"

    greeting = type_and_enter(page, "hello")
    assert "Report a repair" in greeting
    assert "tenancy reference" in press_button(page, "Report a repair")
    assert page.evaluate("document.activeElement.id") == "message"  # back in the box after a button
    type_and_enter(page, TENANT[0])
    assert "verified" in type_and_enter(page, TENANT[1])
    answer = type_and_enter(page, "the tap in my kitchen is dripping all the time and theres water under the sink")
    for _ in range(6):  # the assistant may confirm the kind of problem, the place and access first
        if REFERENCE.search(answer):
            break
        if "Shall I log it?" in answer:
            answer = press_button(page, "Yes, log it")
        elif "Is that right?" in answer:
            answer = press_button(page, "Yes, that's right")
        elif "When can we get in" in answer:
            answer = type_and_enter(page, "weekday mornings")
        elif "Where is the problem" in answer:
            answer = type_and_enter(page, "the kitchen")
        else:
            raise AssertionError(f"unexpected answer: {answer}")
    found = REFERENCE.search(answer)
    assert found, answer
    reference = found.group(0)
    # Questions already answered cannot be answered again.
    assert page.locator("#log .choices button:enabled").count() == 0

    # A photo, chosen with the keyboard: Tab to "Add a photo", Enter opens the file chooser.
    photo = tmp_path / "leak.png"
    photo.write_bytes(png())
    before = messages(page)
    with page.expect_file_chooser() as chooser:
        tab_to(page, lambda f: f["text"] == "Add a photo")
        page.keyboard.press("Enter")
    chooser.value.set_files(str(photo))
    wait_for_reply(page, before)
    assert f"added the photo to {reference}" in last_answers(page, before)
    assert db(stack, "SELECT count(*) FROM photos p JOIN tickets t ON t.id = p.ticket_id WHERE t.reference = :r",
              r=reference) == [(1,)]

    # Not an image: refused at the edge, clearly, and nothing reaches the repair.
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a picture")
    with page.expect_file_chooser() as chooser:
        page.focus("#photo-button")
        page.keyboard.press("Enter")
    chooser.value.set_files(str(text_file))
    page.wait_for_selector("#alert:not([hidden])")
    assert "not a photo" in page.inner_text("#alert")
    assert db(stack, "SELECT count(*) FROM photos p JOIN tickets t ON t.id = p.ticket_id WHERE t.reference = :r",
              r=reference) == [(1,)]
    screenshot(page, "webchat-conversation.png")

    # A reload keeps the conversation (this tab's storage), without asking the assistant again.
    page.reload()
    page.wait_for_selector("#log .msg")
    assert reference in page.inner_text("#log")


def test_a_photo_for_one_of_several_repairs_asks_which_and_goes_to_the_one_chosen(page: Page, stack: Stack,
                                                                                   tmp_path: Path):
    # A seeded tenant with two or more open repairs, none reported in the last two hours (so no "current" one).
    cutoff = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    candidates = db(stack, """
        SELECT te.reference, p.postcode FROM tickets t JOIN residents r ON r.id = t.resident_id
        JOIN tenancies te ON te.id = r.tenancy_id JOIN properties p ON p.id = te.property_id
        WHERE t.status IN ('reported', 'triaged', 'scheduled', 'in_progress', 'reopened')
          AND te.reference != :busy
        GROUP BY te.reference, p.postcode HAVING count(*) >= 2 AND max(t.reported_at) < :cutoff
        ORDER BY te.reference""", busy=TENANT[0], cutoff=cutoff)
    assert candidates, "the demo data has no tenant with several older open repairs"
    verify(page, candidates[0])
    photo = tmp_path / "damp.png"
    photo.write_bytes(png((80, 60)))
    before = messages(page)
    with page.expect_file_chooser() as chooser:
        page.focus("#photo-button")
        page.keyboard.press("Enter")
    chooser.value.set_files(str(photo))
    wait_for_reply(page, before)
    assert "Which repair is this photo for?" in last_answers(page, before)
    choice = page.locator("#log .choices button:enabled").first
    reference = REFERENCE.search(choice.inner_text())
    assert reference, choice.inner_text()
    before = messages(page)
    choice.focus()
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert f"added the photo to {reference.group(0)}" in last_answers(page, before)
    assert db(stack, "SELECT count(*) FROM photos p JOIN tickets t ON t.id = p.ticket_id WHERE t.reference = :r",
              r=reference.group(0)) == [(1,)]


def test_a_gas_message_gets_the_safety_text_first(page: Page):
    page.focus("#message")
    before = messages(page)
    page.keyboard.type("I can smell gas in my kitchen")
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    first_answer = page.locator("#log .msg").nth(before + 1).inner_text()
    assert "0800 111 999" in first_answer, first_answer


def test_typed_text_never_chooses_an_intent(page: Page, context: BrowserContext, stack: Stack):
    """Typed "/affirm{...}" reaches Rasa as words (as on Telegram): Rasa never sees the "/" that would make
    it an intent with slots, so it cannot answer a question the resident was never asked."""
    page.focus("#message")
    type_and_enter(page, '/affirm{"report_confirmed": true}')
    tracker = httpx.get(f"{stack.rasa_url}/conversations/web:{session_id(context)}/tracker",
                        params={"token": stack.rasa_token}, timeout=30)
    assert tracker.status_code == 200
    [said] = [e for e in tracker.json()["events"] if e.get("event") == "user"]
    assert said["text"] == 'affirm{"report_confirmed": true}'
    assert not said["parse_data"].get("entities"), said["parse_data"]


def test_the_page_is_labelled_for_screen_readers_and_reflows_at_200_percent(page: Page):
    page.focus("#message")
    type_and_enter(page, "hello")
    log = page.locator("#log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    assert page.locator('[role="alert"]').count() == 1 and page.locator('[role="status"]').count() == 1
    # Every control has an accessible name (Chromium's own accessibility tree, through Playwright).
    tree = page.locator("body").aria_snapshot()
    controls = [line.strip() for line in tree.splitlines() if re.match(r"\s*- (button|textbox|link)\b", line)]
    assert controls and all('"' in line for line in controls), controls
    assert page.get_by_role("textbox", name="Your message").count() == 1
    for name in ("Send", "Add a photo", "Forget this chat", "Report a repair"):
        assert page.get_by_role("button", name=name).count() >= 1, name
    assert page.get_attribute("html", "lang") == "en-GB"
    # 200% zoom of a 1280-pixel window is a 640-pixel-wide page; and a phone at 320: nothing scrolls sideways.
    for width in (640, 320):
        page.set_viewport_size({"width": width, "height": 700})
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
        assert page.locator("#send").is_visible() and page.locator("#photo-button").is_visible()
    page.set_viewport_size({"width": 640, "height": 700})
    screenshot(page, "webchat-200-percent.png")


def test_the_cookie_is_http_only_lax_and_posts_need_the_token_and_this_site(page: Page, context: BrowserContext,
                                                                            bot: str):
    [cookie] = [c for c in context.cookies() if c["name"] == "repairs_chat"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert cookie["secure"] is False  # served over plain http here; over https it is Secure and __Host-
    assert cookie["expires"] > time.time() + 29 * 86400
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    csrf = page.get_attribute('meta[name="csrf-token"]', "content")
    assert csrf

    # Same browser, same cookie, but no token (or another site's origin): refused.
    no_token = page.request.post(f"{bot}/webchat/api/message", data={"text": "hello"}, headers={"Origin": bot})
    assert no_token.status == 403 and no_token.json()["error"] == "csrf"
    wrong_site = page.request.post(f"{bot}/webchat/api/message", data={"text": "hello"},
                                   headers={"Origin": "http://evil.test", "X-CSRF-Token": csrf})
    assert wrong_site.status == 403
    with_both = page.request.post(f"{bot}/webchat/api/updates", data={},
                                  headers={"Origin": bot, "X-CSRF-Token": csrf})
    assert with_both.status == 200

    # A real cross-site form post from another site's page: the browser withholds the Lax cookie and
    # the bot refuses it.
    attacker = context.new_page()
    attacker.route("http://evil.test/**", lambda route: route.fulfill(content_type="text/html", body=(
        f'<form id="f" method="post" enctype="text/plain" action="{bot}/webchat/api/message">'
        '<input name=\'{"text": "x", "pad": "\' value=\'"}\'></form>'
        "<script>document.getElementById('f').submit()</script>")))
    with attacker.expect_response(f"{bot}/webchat/api/message") as answer:
        attacker.goto("http://evil.test/")
    assert answer.value.status == 403
    attacker.close()


def test_an_update_reaches_a_resident_who_was_away_when_they_next_open_the_page(
        page: Page, context: BrowserContext, stack: Stack, officer: dict[str, str]):
    verify(page)
    reference = report_as(stack, session_id(context))
    page.close()  # the resident leaves

    set_status(stack, officer, reference, "triaged")
    wait_until(lambda: "pending" in outbox_statuses(stack, reference))

    reopened = context.new_page()
    reopened.goto("/")
    reopened.wait_for_selector("#log .msg.update", timeout=20_000)
    update = reopened.locator("#log .msg.update").first.inner_text()
    assert reference in update, update
    # Shown, so acknowledged: sent once, and not shown again in another tab.
    wait_until(lambda: outbox_statuses(stack, reference) and set(outbox_statuses(stack, reference)) == {"sent"})
    another = context.new_page()
    another.goto("/")
    another.wait_for_timeout(5_000)  # more than two polls
    assert another.locator("#log .msg.update").count() == 0
    another.close()

    # On the page: the next change arrives within seconds, its buttons work.
    set_status(stack, officer, reference, "in_progress")
    set_status(stack, officer, reference, "completed")
    reopened.wait_for_function("() => [...document.querySelectorAll('#log .msg.update')]"
                               ".some(m => m.querySelector('.choices button'))", timeout=30_000)
    fixed = reopened.locator("#log .msg.update .choices button").first
    assert fixed.is_enabled()
    before = messages(reopened)
    fixed.focus()
    reopened.keyboard.press("Enter")
    wait_for_reply(reopened, before)
    assert last_answers(reopened, before).strip()
    wait_until(lambda: set(outbox_statuses(stack, reference)) == {"sent"})
    screenshot(reopened, "webchat-update.png")


def test_with_the_assistant_down_the_page_says_so_and_keeps_the_message(browser: Browser, stack: Stack,
                                                                        tmp_path: Path):
    with bot_process(stack, tmp_path / "bot-down.log", RASA_URL=f"http://127.0.0.1:{free_port()}") as url:
        ctx = browser.new_context(base_url=url)
        try:
            page = ctx.new_page()
            page.goto("/")
            page.focus("#message")
            page.keyboard.type("my tap is leaking")
            page.keyboard.press("Enter")
            page.wait_for_selector("#alert:not([hidden])", timeout=30_000)
            assert "can't answer right now" in page.inner_text("#alert")
            assert page.input_value("#message") == "my tap is leaking"  # nothing lost
            assert messages(page) == 0
        finally:
            ctx.close()


def test_forget_this_chat_unlinks_the_browser_erases_the_conversation_and_ends_the_session(
        page: Page, context: BrowserContext, stack: Stack):
    verify(page)
    sid = session_id(context)
    linked = "SELECT count(*) FROM channel_identities WHERE channel = 'web' AND external_id = :e"
    assert db(stack, linked, e=sid) == [(1,)]
    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, lambda f: f["text"] == "Forget this chat")
    page.keyboard.press("Enter")
    page.wait_for_selector("#alert:not([hidden])")
    assert "no longer linked" in page.inner_text("#log") and "T-100001" not in page.inner_text("#log")
    assert db(stack, linked, e=sid) == [(0,)]
    assert not [c for c in context.cookies() if c["name"] == "repairs_chat"]
    tracker = httpx.get(f"{stack.rasa_url}/conversations/web:{sid}/tracker",
                        params={"token": stack.rasa_token, "include_events": "ALL"}, timeout=30)
    assert tracker.status_code == 200
    assert not [e for e in tracker.json().get("events") or [] if e.get("event") in ("user", "bot")]
    page.reload()
    assert session_id(context) != sid
    assert page.locator("#log .msg").count() == 0


def test_too_fast_the_page_says_how_long_to_wait_keeps_the_message_and_polls_back_off(
        browser: Browser, stack: Stack, tmp_path: Path):
    # One message a minute; a poll every 30 s, with the fewest polls the settings allow for that pace.
    limits = {"WEBCHAT_MESSAGES_PER_MINUTE": "1", "WEBCHAT_MESSAGE_BURST": "1", "WEBCHAT_POLL_SECONDS": "30",
              "WEBCHAT_POLLS_PER_MINUTE": "8", "WEBCHAT_POLL_BURST": "1"}
    with bot_process(stack, tmp_path / "bot-limited.log", **limits) as url:
        ctx = browser.new_context(base_url=url)
        try:
            page = ctx.new_page()
            polls: list[int] = []
            page.on("response", lambda r: polls.append(r.status) if r.url.endswith("/webchat/api/updates") else None)
            with page.expect_response(lambda r: r.url.endswith("/webchat/api/updates")):
                page.goto("/")
            csrf = page.get_attribute('meta[name="csrf-token"]', "content") or ""

            # Another window of the same session has just polled too: the page's next poll is refused,
            # quietly, and it does not ask again when it comes back into view soon after.
            refused = page.request.post(f"{url}/webchat/api/updates", data={},
                                        headers={"Origin": url, "X-CSRF-Token": csrf})
            assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
            with page.expect_response(lambda r: r.url.endswith("/webchat/api/updates")) as answer:
                page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
            assert answer.value.status == 429
            for _ in range(3):
                page.wait_for_timeout(300)
                page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
            page.wait_for_timeout(1_000)
            assert polls == [200, 429], polls
            assert page.locator("#alert").is_hidden()

            # A second message within the minute: the server's words, and the message stays in the box.
            page.focus("#message")
            type_and_enter(page, "hello")
            before = messages(page)
            page.keyboard.type("I need to report a repair")
            page.keyboard.press("Enter")
            page.wait_for_selector("#alert:not([hidden])", timeout=30_000)
            alert = page.inner_text("#alert")
            assert "Please wait" in alert and "still in the box" in alert and "0800 111 999" in alert, alert
            assert page.input_value("#message") == "I need to report a repair"
            assert messages(page) == before
            # Trying again straight away: the page says how long is left, without asking the server.
            sent: list[str] = []
            page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/webchat/api/message") else None)
            page.keyboard.press("Enter")
            page.wait_for_timeout(500)
            assert sent == []
            assert re.search(r"Please wait \d+ seconds?, then try again", page.inner_text("#alert"))
            assert page.input_value("#message") == "I need to report a repair"
            screenshot(page, "webchat-rate-limited.png")
        finally:
            ctx.close()
