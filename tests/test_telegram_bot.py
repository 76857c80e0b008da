"""The Telegram bot end to end: `python -m bot` (python-telegram-bot's real client) against the Telegram
stand-in over HTTP, with the whole assistant behind it (Rasa, the action server, the repairs service).

One assistant stack, one stand-in and one webhook-mode bot are shared by the module; the restart test
at the end runs its own polling-mode bots.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from evaluation.rasa_process import ROOT
from tests.assistant_stack import Stack, assistant_stack
from tests.bot_process import RunningBot, running_bot
from tests.telegram_standin import SentMessage, TelegramStandIn

pytestmark = pytest.mark.slow

TENANT = ("T-100001", "NW1 8YL")
REFERENCE = re.compile(r"\bHR-[2-9A-HJKMNP-Z]{6}\b")
_chats = itertools.count(810001)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("telegram-stack")
    # Conversations in SQL, as in the demo and production, so /forget_me is tested against a store that
    # keeps them.
    tracker_store = (f"tracker_store:\n  type: rasa_tracker.erasable.ErasableSQLTrackerStore\n"
                     f"  dialect: sqlite\n  db: {workdir / 'tracker.db'}\n")
    with assistant_stack(workdir, endpoints_extra=tracker_store) as running:
        yield running


@pytest.fixture(scope="module")
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(tg: TelegramStandIn, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    log = tmp_path_factory.mktemp("telegram-bot") / "bot.log"
    with running_bot(tg, stack, log, mode="webhook") as running:
        yield running


@pytest.fixture(scope="module")
def officer(stack: Stack) -> dict[str, str]:
    """An officer's API headers, for the account made with the CLI as a council would."""
    password = "correct horse battery staple"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env.update({"REPAIRS_DATABASE_URL": stack.database_url, "REPAIRS_OFFICER_PASSWORD": password})
    subprocess.run([sys.executable, "-m", "repairs", "create-officer", "--email", "officer@example.org",
                    "--name", "Olu Officer"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    r = httpx.post(f"{stack.repairs_url}/api/v1/auth/token", json={"email": "officer@example.org",
                                                                    "password": password}, timeout=10)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# --- the resident's side ---------------------------------------------------------------------------------
def turn(tg: TelegramStandIn, chat: int, action: Any, quiet: float = 1.0) -> list[SentMessage]:
    """Do something as the resident (a callable returning an update id) and return the bot's answer."""
    before = len(tg.sent(chat))
    action()
    return tg.wait_quiet(chat, after=before, quiet=quiet, timeout=120)


def say(tg: TelegramStandIn, chat: int, text: str) -> list[SentMessage]:
    return send(tg, chat, text)[1]


def send(tg: TelegramStandIn, chat: int, text: str) -> tuple[int, list[SentMessage]]:
    """Type `text`; its update id and the bot's answer."""
    sent: list[int] = []
    answer = turn(tg, chat, lambda: sent.append(tg.user_text(chat, text)))
    return sent[0], answer


def tap(tg: TelegramStandIn, chat: int, title: str) -> list[SentMessage]:
    return turn(tg, chat, lambda: tg.tap(chat, title))


def joined(messages: list[SentMessage]) -> str:
    return "\n".join(m.body for m in messages)


def verify(tg: TelegramStandIn, chat: int, who: tuple[str, str] = TENANT) -> None:
    asked = say(tg, chat, "/start")
    assert "Report a repair" in asked[-1].button_titles
    assert "tenancy reference" in joined(tap(tg, chat, "Check my repairs"))
    assert "postcode" in joined(say(tg, chat, who[0]))
    assert "verified" in joined(say(tg, chat, who[1]))


def report_leak(tg: TelegramStandIn, chat: int) -> tuple[str, int]:
    """Report a dripping tap, answering whatever the assistant asks; the reference, and the update that
    logged it."""
    answers = {"closest to": "Plumbing / leak", "which room": "kitchen", "where": "kitchen",
               "get in": "weekday mornings", "anyone": "No", "vulnerable": "No"}
    before = len(tg.sent(chat))
    update_id = tg.user_text(chat, "the tap in my kitchen is dripping all the time and theres water under the sink")
    for _ in range(8):
        messages = tg.wait_quiet(chat, after=before, quiet=1.0, timeout=120)
        found = REFERENCE.search(joined(messages))
        if found and any(w in joined(messages) for w in ("reference is", "logged this")):
            return found.group(0), update_id
        last = messages[-1]
        question = last.body.lower()
        yes = next((t for t in last.button_titles if t.lower().startswith("yes")), None)
        wanted = next((answer for cue, answer in answers.items() if cue in question), None)
        if wanted in last.button_titles:
            update_id = tg.tap(chat, wanted)
        elif yes is not None:
            update_id = tg.tap(chat, yes)
        elif wanted is not None:
            update_id = tg.user_text(chat, wanted)
        else:
            raise AssertionError(f"unexpected question: {last.body!r} {last.button_titles}")
        before = len(tg.sent(chat))
    raise AssertionError("no reference after eight turns")


def user_events(stack: Stack, chat: int | str) -> list[dict[str, Any]]:
    sender = chat if isinstance(chat, str) else f"telegram:{chat}"
    r = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                  params={"token": stack.rasa_token, "include_events": "ALL"}, timeout=10)
    r.raise_for_status()
    return [e for e in r.json().get("events", []) if e.get("event") == "user"]


def tracker_rows(stack: Stack, sender: str) -> int:
    engine = sa.create_engine(stack.database_url.replace("repairs.db", "tracker.db"))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                    {"s": sender}).scalar_one())
    finally:
        engine.dispose()


def resident_get(stack: Stack, chat: int, path: str) -> httpx.Response:
    return httpx.get(f"{stack.repairs_url}{path}", timeout=10, headers={
        "Authorization": f"Bearer {stack.repairs_token}", "X-Resident-Channel": f"telegram:{chat}"})


def tickets_of(stack: Stack, chat: int) -> int:
    """Tickets of the resident this chat is linked to (every chat here verifies as the same tenant)."""
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM tickets t JOIN channel_identities c ON c.resident_id = t.resident_id "
                "WHERE c.channel = 'telegram' AND c.external_id = :e AND t.created_at > datetime('now', '-1 hour')"
            ), {"e": str(chat)}).scalar_one())
    finally:
        engine.dispose()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (30, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


# --- tests ---------------------------------------------------------------------------------------------
def test_forged_webhook_calls_are_refused_and_never_processed(tg: TelegramStandIn, bot: RunningBot) -> None:
    chat = next(_chats)
    tg.open_chat(chat)
    update = {"update_id": 5_000_000 + chat, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private", "first_name": "X"},
        "from": {"id": chat, "is_bot": False, "first_name": "X"}, "text": "i can smell gas"}}
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    {"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret[:-1] + "x"},
                    {"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret + "x"}):
        r = httpx.post(bot.webhook_url, json=update, headers=headers, timeout=10)
        assert r.status_code == 403, headers
    time.sleep(2)
    assert tg.sent(chat) == [] and tg.chat_actions(chat) == [], "a refused update is never processed"
    # The same call with the right secret is processed: the refusal above was the secret, nothing else.
    r = httpx.post(bot.webhook_url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret},
                   timeout=10)
    assert r.status_code == 200
    assert "0800 111 999" in tg.wait_for(chat, lambda m: True, timeout=60).body
    # An update that cannot be read is acknowledged and dropped, not refused: Telegram would resend it for ever.
    r = httpx.post(bot.webhook_url, json={"update_id": 1, "message": "not a message"}, timeout=10,
                   headers={"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret})
    assert r.status_code == 200


def test_gas_gets_the_safety_text_first_with_typing_shown(tg: TelegramStandIn, bot: RunningBot) -> None:
    chat = next(_chats)
    replies = say(tg, chat, "i can smell gas in my kitchen")
    assert "0800 111 999" in replies[0].body
    assert "typing" in tg.chat_actions(chat)


def test_resident_verifies_reports_a_leak_with_a_photo_and_gets_a_reference(
        tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    chat = next(_chats)
    verify(tg, chat)
    tickets = tickets_of(stack, chat)
    reference, _ = report_leak(tg, chat)
    assert tickets_of(stack, chat) == tickets + 1
    added = turn(tg, chat, lambda: tg.user_photo(chat, jpeg(), caption="under the sink"))
    assert f"added the photo to {reference}" in joined(added)
    ticket = resident_get(stack, chat, f"/api/v1/tickets/{reference}").json()
    assert len(ticket["photos"]) == 1 and ticket["photos"][0]["width"] == 96


def test_a_database_error_behind_a_photos_caption_leaves_only_ids_in_the_logs(
        tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    """The service fails to keep a caption (its database refuses it): the bot logs the failure with the
    service's request id, which the service's own line carries too, and no log holds the caption's words."""
    chat = next(_chats)
    verify(tg, chat)
    reference, _ = report_leak(tg, chat)
    before = {"bot": len(bot.log()), "repairs": len(stack.log("repairs"))}
    database = stack.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        db.execute("CREATE TRIGGER zz_forced_caption_failure BEFORE INSERT ON ticket_events "
                   "WHEN NEW.data LIKE '%zq-caption%' BEGIN SELECT RAISE(ABORT, 'forced failure'); END")
    try:
        caption = "zq-caption Philippa Quorndon-Smythe, 07700 900461, says it leaks at night"
        added = turn(tg, chat, lambda: tg.user_photo(chat, jpeg(), caption=caption))
    finally:
        with sqlite3.connect(database) as db:
            db.execute("DROP TRIGGER IF EXISTS zz_forced_caption_failure")
    assert f"added the photo to {reference}" in joined(added)  # the photo itself was kept

    bot_log, repairs_log = bot.log()[before["bot"]:], stack.log("repairs")[before["repairs"]:]
    failed = re.search(r"photo caption not added: 500 internal_error \(request id ([\w.-]+)\)", bot_log)
    assert failed, bot_log
    entries = [json.loads(line) for line in repairs_log.splitlines() if line.startswith("{")]
    assert failed.group(1) in [e.get("request_id") for e in entries if e.get("message") == "unexpected error"]
    for part, logged in (("bot", bot_log), ("repairs", repairs_log), ("rasa", stack.log("rasa")),
                         ("actions", stack.log("actions"))):
        for personal in ("zq-caption", "Philippa", "Quorndon", "07700", "900461", "leaks at night"):
            assert personal not in logged, f"{personal!r} is in the {part} log"


def test_a_tracker_store_error_leaves_no_message_text_in_rasas_log(
        tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    """Rasa's SQL tracker store fails to save a turn (its database refuses it). Rasa logs the database's error
    in full and carries on in memory; the statement's values are the turn itself, so the store's engine hides
    them, and neither Rasa's log nor the bot's holds the words."""
    chat = next(_chats)
    before = {"bot": len(bot.log()), "rasa": len(stack.log("rasa"))}
    tracker_db = stack.database_url.removeprefix("sqlite:///").replace("repairs.db", "tracker.db")
    with sqlite3.connect(tracker_db) as db:
        db.execute("CREATE TRIGGER zz_forced_tracker_failure BEFORE INSERT ON events "
                   "WHEN NEW.data LIKE '%zq-tracker%' BEGIN SELECT RAISE(ABORT, 'forced failure'); END")
    try:
        answer = say(tg, chat, "zq-tracker Philippa Quorndon-Smythe here, my boiler at flat 12 is broken")
    finally:
        with sqlite3.connect(tracker_db) as db:
            db.execute("DROP TRIGGER IF EXISTS zz_forced_tracker_failure")
    assert answer, "the resident hears something"
    rasa_log = stack.log("rasa")[before["rasa"]:]
    assert "Error happened when trying to save conversation tracker" in rasa_log, rasa_log[-3000:]
    assert "SQL parameters hidden" in rasa_log
    # Unhidden, the values are the chat's id and the event (its words, when they fall within the 300 characters
    # SQLAlchemy shows of each value).
    assert str(chat) not in rasa_log
    for part, logged in (("rasa", rasa_log), ("bot", bot.log()[before["bot"]:])):
        for personal in ("zq-tracker", "Philippa", "Quorndon", "flat 12", "boiler"):
            assert personal not in logged, f"{personal!r} is in the {part} log"


def test_a_photo_goes_on_the_repair_the_resident_picks_when_none_is_current(
        tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as conn:  # a demo tenant with two or more open repairs, none of them new
            tenancy, postcode = conn.execute(sa.text(
                "SELECT tn.reference, p.postcode FROM tickets t JOIN residents r ON r.id = t.resident_id "
                "JOIN tenancies tn ON tn.id = r.tenancy_id JOIN properties p ON p.id = tn.property_id "
                "WHERE upper(tn.tenure) = 'TENANT' AND t.status IN ('reported','triaged','scheduled','in_progress',"
                "'reopened') GROUP BY r.id HAVING count(*) >= 2 AND max(t.created_at) < datetime('now', '-3 hours') "
                "ORDER BY tn.reference LIMIT 1")).one()
    finally:
        engine.dispose()
    chat = next(_chats)
    verify(tg, chat, (tenancy, postcode))
    question = turn(tg, chat, lambda: tg.user_photo(chat, jpeg()))[-1]
    assert question.body == "Which repair is this photo for?" and len(question.buttons) >= 2
    choice = question.button_titles[1]
    reference = choice.split(":")[0]
    assert f"added the photo to {reference}" in joined(tap(tg, chat, choice))
    assert len(resident_get(stack, chat, f"/api/v1/tickets/{reference}").json()["photos"]) == 1
    assert next(m for m in tg.sent(chat) if m.message_id == question.message_id).button_titles == [f"✓ {choice}"]


def test_a_repeated_update_is_handled_once(tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    chat = next(_chats)
    verify(tg, chat)
    reference, logged_by = report_leak(tg, chat)
    tickets = tickets_of(stack, chat)
    thanked, _ = send(tg, chat, "thank you")
    before = len(tg.sent(chat))
    for update_id in (logged_by, thanked):
        tg.duplicate(update_id)
    deadline = time.monotonic() + 10
    while tg.pending_updates() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tg.pending_updates() == 0, "Telegram got its 200 for the repeats"
    time.sleep(2)
    assert tg.sent(chat)[before:] == [], "repeats are answered by nothing"
    assert tickets_of(stack, chat) == tickets, f"no second ticket besides {reference}"


def finished_repair(tg: TelegramStandIn, stack: Stack, officer: dict[str, str]) -> tuple[int, str, int]:
    """A verified chat whose leak report an officer triages and completes: the chat, the reference, and how
    many messages the chat had before the updates."""
    chat = next(_chats)
    verify(tg, chat)
    reference, _ = report_leak(tg, chat)
    before = len(tg.sent(chat))
    for status in ("triaged", "completed"):
        r = httpx.post(f"{stack.repairs_url}/api/v1/officer/tickets/{reference}/status", headers=officer,
                       json={"status": status}, timeout=30)
        assert r.status_code == 200, r.text
    return chat, reference, before


def test_an_officers_change_reaches_the_chat_once_and_not_fixed_reopens(
        tg: TelegramStandIn, bot: RunningBot, stack: Stack, officer: dict[str, str]) -> None:
    chat, reference, before = finished_repair(tg, stack, officer)
    asked = tg.wait_for(chat, lambda m: "Is it fixed?" in m.body, after=before, timeout=60)
    assert reference in asked.body and asked.button_titles == ["Yes, it's fixed", "No, it's not fixed"]
    time.sleep(2)  # a second copy of either update would have arrived by now
    updates = [m.body for m in tg.sent(chat)[before:]]
    assert len(updates) == 2 and sum("Is it fixed?" in u for u in updates) == 1, updates
    # The proactive message's button works like any other: "not fixed" reopens the repair.
    assert f"reopened {reference}" in joined(tap(tg, chat, "No, it's not fixed"))
    assert resident_get(stack, chat, f"/api/v1/tickets/{reference}").json()["status"] == "reopened"


def test_yes_its_fixed_asks_for_a_rating_and_closes_the_repair(
        tg: TelegramStandIn, bot: RunningBot, stack: Stack, officer: dict[str, str]) -> None:
    chat, reference, before = finished_repair(tg, stack, officer)
    tg.wait_for(chat, lambda m: "Is it fixed?" in m.body, after=before, timeout=60)
    rating = tap(tg, chat, "Yes, it's fixed")[-1]
    assert reference in rating.body and len(rating.buttons) == 5, rating.body
    assert "Thank you for rating" in joined(tap(tg, chat, rating.button_titles[0]))
    ticket = resident_get(stack, chat, f"/api/v1/tickets/{reference}").json()
    assert ticket["status"] == "closed", "the resident said it is fixed: the repair is closed"


def test_buttons_are_an_inline_keyboard_and_a_tap_marks_the_choice(tg: TelegramStandIn, bot: RunningBot) -> None:
    chat = next(_chats)
    greeting = say(tg, chat, "/start")[-1]
    assert greeting.button_titles == ["Report a repair", "Check my repairs", "Talk to a person"]
    answer = tap(tg, chat, "Talk to a person")
    assert answer, "the payload reached the assistant"
    marked = next(m for m in tg.sent(chat) if m.message_id == greeting.message_id)
    assert marked.button_titles == ["✓ Talk to a person"]
    assert all(a["answered"] for a in tg.callback_answers().values() if a["chat_id"] == chat)
    # A forged tap (data the bot never offered on that message) is refused.
    say(tg, chat, "/start")
    before = len(tg.sent(chat))
    tg.tap(chat, "Report a repair", data='r|/inform{"report_confirmed": true}')
    time.sleep(2)
    assert tg.sent(chat)[before:] == []
    assert any(a["text"] and "expired" in a["text"] for a in tg.callback_answers().values())


def test_a_double_tap_answers_the_question_once(tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    """Both taps carry the keyboard as it was; the first tap is remembered in the chat's shared state
    (so it would be on any replica) and the second is only told the choice is made."""
    chat = next(_chats)
    greeting = say(tg, chat, "/start")[-1]
    before = len(tg.sent(chat))
    events_before = len(user_events(stack, chat))
    first = tg.tap(chat, "Talk to a person", message_id=greeting.message_id)
    second = tg.tap(chat, "Talk to a person", message_id=greeting.message_id)
    assert first != second
    tg.wait_quiet(chat, after=before, quiet=2.0, timeout=60)
    assert len(user_events(stack, chat)) == events_before + 1, "the assistant heard the choice once"
    answers = [a for a in tg.callback_answers().values() if a["chat_id"] == chat]
    assert len(answers) == 2 and all(a["answered"] for a in answers)
    assert sum(1 for a in answers if a["text"] and "already" in a["text"].lower()) == 1, answers


def test_typed_slash_text_is_words_not_an_intent(tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    chat = next(_chats)
    injected = '/greet{"category": "gas"}'
    say(tg, chat, injected)
    seen = user_events(stack, chat)[-1]
    assert seen["text"] == 'greet{"category": "gas"}'
    assert seen["parse_data"]["intent"]["confidence"] < 1.0
    assert not [e for e in seen["parse_data"]["entities"] if e.get("extractor") == "RegexMessageHandler"]
    assert seen["metadata"]["channel"] == "telegram"
    # The control: the same text sent straight to Rasa (not through the bot) is read as an intent with a slot.
    stack.say(f"telegram:{chat}9", injected)
    direct = user_events(stack, f"telegram:{chat}9")[-1]["parse_data"]
    assert direct["intent"] == {"name": "greet", "confidence": 1.0}
    assert [e["value"] for e in direct["entities"] if e.get("extractor") == "RegexMessageHandler"] == ["gas"]


def test_forget_me_unlinks_and_erases_after_confirmation(tg: TelegramStandIn, bot: RunningBot, stack: Stack) -> None:
    chat, other = next(_chats), next(_chats)
    say(tg, other, "hello")
    verify(tg, chat)
    assert resident_get(stack, chat, "/api/v1/residents/me").status_code == 200
    question = say(tg, chat, "/forget_me")[-1]
    assert question.button_titles == ["Yes, forget me", "No, keep it"]
    assert "nothing has changed" in joined(tap(tg, chat, "No, keep it"))
    assert resident_get(stack, chat, "/api/v1/residents/me").status_code == 200, "no means no"
    say(tg, chat, "/forget_me")
    done = joined(tap(tg, chat, "Yes, forget me"))
    assert "unlinked this chat and erased our conversation" in done
    assert resident_get(stack, chat, "/api/v1/residents/me").status_code == 403
    assert user_events(stack, chat) == [], "the conversation (with the tenancy reference and postcode) is gone"
    assert tracker_rows(stack, f"telegram:{chat}") == 0, "erased from the tracker store, not just hidden"
    assert tracker_rows(stack, f"telegram:{other}") > 0, "other conversations are kept"


def test_media_the_assistant_cannot_take_gets_a_clear_answer(tg: TelegramStandIn, bot: RunningBot,
                                                             stack: Stack) -> None:
    chat = next(_chats)
    assert "stickers" in joined(turn(tg, chat, lambda: tg.user_sticker(chat)))
    assert "voice" in joined(turn(tg, chat, lambda: tg.user_voice(chat)))
    assert "videos" in joined(turn(tg, chat, lambda: tg.user_video(chat)))
    pdf = turn(tg, chat, lambda: tg.user_document(chat, b"%PDF-1.7", file_name="lease.pdf",
                                                  mime_type="application/pdf"))
    assert "only take photos" in joined(pdf)
    assert "too long" in joined(say(tg, chat, "my boiler " * 200))
    group = -(next(_chats))
    turn(tg, group, lambda: tg.user_text(group, "/start", from_id=chat, chat_type="group"))
    assert "only chat privately" in joined(tg.sent(group))
    assert user_events(stack, chat) == [], "none of it reached the assistant"
    downloads, lookups = tg.calls["download"], tg.calls["getfile"]
    big = turn(tg, chat, lambda: tg.user_document(chat, jpeg(), file_name="IMG_0001.jpg", mime_type="image/jpeg",
                                                  reported_size=25 * 1024 * 1024))
    assert "too large" in joined(big)
    assert tg.calls["download"] == downloads and tg.calls["getfile"] == lookups, "refused before downloading"


def test_a_shared_location_or_contact_reaches_the_assistant_as_words_and_metadata(tg: TelegramStandIn, bot: RunningBot,
                                                                       stack: Stack) -> None:
    chat = next(_chats)
    turn(tg, chat, lambda: tg.user_location(chat, 51.5362, -0.1425))
    seen = user_events(stack, chat)[-1]
    assert seen["text"] == "My location is 51.53620, -0.14250"
    assert seen["metadata"]["channel"] == "telegram"
    assert seen["metadata"]["location"] == {"latitude": 51.5362, "longitude": -0.1425}
    turn(tg, chat, lambda: tg.user_contact(chat, "+447700900123"))
    seen = user_events(stack, chat)[-1]
    assert seen["text"] == "My phone number is +447700900123"
    assert seen["metadata"]["contact"] == {"phone_number": "+447700900123", "own": True}


def test_the_bots_log_holds_no_message_text_personal_data_or_secrets(tg: TelegramStandIn, bot: RunningBot) -> None:
    log = bot.log()
    assert "telegram turn answered" in log, "the log is the bot's, and has been written"
    for private in ("kitchen", "smell", TENANT[0], TENANT[1], "+447700900123", "51.53", "Priya", tg.token,
                    bot.webhook_secret):
        assert private.lower() not in log.lower(), private


def test_bye_inside_a_report_keeps_it_and_hello_offers_it_back(tg: TelegramStandIn, bot: RunningBot,
                                                               stack: Stack) -> None:
    """"Bye" at a report's question is not its answer: the report is kept, nothing logged, and a hello later
    offers it back where it stopped (tests/test_conversation_everyday.py has the other forms)."""
    chat = next(_chats)
    verify(tg, chat)
    before = tickets_of(stack, chat)
    opened = say(tg, chat, "theres black mould spreading across the wall behind my daughters bed")
    answer = joined(opened)
    if "Is that right?" in answer:
        answer = joined(tap(tg, chat, opened[-1].button_titles[0]))  # the first is "yes, that's it"
    assert "Where is the problem" in answer, answer
    left = joined(say(tg, chat, "bye"))
    assert "Bye for now" in left and "isn't logged yet" in left, left
    assert tickets_of(stack, chat) == before
    back = say(tg, chat, "hello")
    assert "Shall we carry on with your report about damp or mould?" in joined(back), joined(back)
    assert "Where is the problem" in joined(tap(tg, chat, back[-1].button_titles[0]))


def test_yes_to_did_you_mean_for_an_emergency_logs_it_as_one(tg: TelegramStandIn, bot: RunningBot,
                                                             stack: Stack) -> None:
    """Words the NLU could not place that describe an emergency: the advice before "Did you mean ...?", and "Yes"
    logs an emergency with the resident's words (not the ordinary report's questions)."""
    chat = next(_chats)
    verify(tg, chat)
    words = "yes please. water is pouring in through the ceiling"  # nlu_fallback: test_conversation_everyday
    asked = say(tg, chat, words)
    assert "This sounds like an emergency" in joined(asked) and "Did you mean" in joined(asked), joined(asked)
    answer = joined(tap(tg, chat, asked[-1].button_titles[0]))
    assert "logged this as an emergency" in answer, answer
    assert "Is that right?" not in answer and "Where is the problem" not in answer, answer
    engine = sa.create_engine(stack.database_url)
    with engine.begin() as conn:
        row = conn.execute(sa.text("SELECT priority, description FROM tickets ORDER BY id DESC LIMIT 1")).one()
    engine.dispose()
    assert (str(row[0]), str(row[1])) == ("emergency", words)


def test_polling_after_a_restart_handles_a_repeated_update_once(tg: TelegramStandIn, stack: Stack,
                                                                 tmp_path: Path) -> None:
    """Polling mode, and Telegram sending an update again after a restart: it is answered once."""
    chat = next(_chats)
    with running_bot(tg, stack, tmp_path / "first.log", mode="polling"):
        hello, greeted = send(tg, chat, "hello")
    assert any("Hello!" in m.body for m in greeted)
    # While the bot is down the resident writes again, and Telegram also offers "hello" again.
    tg.user_text(chat, "thank you")
    tg.duplicate(hello)
    before = len(tg.sent(chat))
    with running_bot(tg, stack, tmp_path / "second.log", mode="polling"):
        after = tg.wait_quiet(chat, after=before, quiet=2.0, timeout=60)
        assert tg.pending_updates() == 0
    assert after, "the message sent while the bot was down is answered"
    assert not any("Hello!" in m.body for m in after), "the repeated 'hello' was not answered again"
