"""Conversations with the whole assistant: Rasa, the action server and the repairs service, all real."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.assistant_stack import Stack, assistant_stack

TENANT = ("T-100001", "NW1 8YL")  # seed-demo's first home (a tenant)
LEASEHOLDER = ("T-100005", "NW1 8YL")
_chats = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with assistant_stack(tmp_path_factory.mktemp("assistant")) as running:
        yield running


def texts(replies: list[dict[str, object]]) -> list[str]:
    return [str(r.get("text", "")) for r in replies]


def new_chat() -> str:
    return f"telegram:{700000 + next(_chats)}"


def verify(stack: Stack, chat: str, who: tuple[str, str] = TENANT) -> None:
    stack.say(chat, "/start_verification")
    stack.say(chat, who[0])
    assert any("verified" in t for t in texts(stack.say(chat, who[1])))


def tickets_for_chat(stack: Stack, chat: str) -> int:
    engine = sa.create_engine(stack.database_url)
    channel, external = chat.split(":", 1)
    with engine.connect() as conn:
        count = conn.execute(sa.text(
            "SELECT count(*) FROM tickets t JOIN channel_identities c ON c.resident_id = t.resident_id "
            "WHERE c.channel = :c AND c.external_id = :e AND t.created_at > datetime('now', '-1 hour')"
        ), {"c": channel, "e": external}).scalar_one()
    engine.dispose()
    return int(count)


def kept_chat(stack: Stack, reply: str) -> list[dict[str, str]]:
    """The conversation excerpt the actions sent with the ticket named in `reply` (for the officer's page)."""
    ref = re.search(r"HR-[0-9A-Z]+", reply)
    assert ref, reply
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as conn:
        data = conn.execute(sa.text(
            "SELECT e.data FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
            "WHERE t.reference = :r AND e.kind = 'conversation'"
        ), {"r": ref.group(0)}).scalar_one()
    engine.dispose()
    return list((json.loads(data) if isinstance(data, str) else data)["lines"])


def test_gas_smell_gets_safety_first_even_before_verification(stack):
    replies = texts(stack.say(new_chat(), "i can smell gas in my kitchen"))
    assert "0800 111 999" in replies[0]


@pytest.mark.parametrize("message", ["No heating and gas smell in the kitchen",
                                     "I can't smell anything but my CO alarm keeps going off"])
def test_gas_inside_another_report_or_after_a_negation_still_gets_safety_first(stack, message):
    # The actions' old gas check missed both (a negation anywhere in the message cancelled it).
    replies = texts(stack.say(new_chat(), message))
    assert "0800 111 999" in replies[0], replies


def test_gas_interrupts_verification(stack):
    chat = new_chat()
    stack.say(chat, "my kitchen tap is leaking")
    replies = texts(stack.say(chat, "wait theres a strong smell of gas now"))
    assert "0800 111 999" in replies[0]


def test_fresh_web_chat_sessions_from_one_client_cannot_spray_identity_checks(stack):
    """The bot signs its keyed digest of a web chat client's address into every turn's metadata; the actions
    send it with the identity check, and the service counts failures per client (10 an hour), so fresh
    sessions from one address get no fresh tries."""
    run = uuid.uuid4().hex[:8]
    metadata = {"channel": "web", "client": f"client-{run}-" + "x" * 30}

    def say(sender: str, text: str, client: dict[str, object] = metadata) -> list[str]:
        r = stack.post_turn(sender, text, typed=not text.startswith("/"), metadata=client)
        r.raise_for_status()
        return texts(list(r.json()))

    for n in range(5):  # five sessions, two wrong tries each (then the assistant offers a person)
        sender = f"web:spray-{run}-{n}"
        say(sender, "/start_verification")
        for attempt in range(2):
            say(sender, f"T-9{n}{attempt}100")
            say(sender, f"E{n + 1} {attempt}AB")
    last = f"web:spray-{run}-last"
    say(last, "/start_verification")
    say(last, TENANT[0])
    assert any("too many tries" in t for t in say(last, TENANT[1]))
    # Another client, with the same details, is not held back.
    other = {"channel": "web", "client": f"other-{run}-" + "y" * 30}
    say(f"web:other-{run}", "/start_verification", other)
    say(f"web:other-{run}", TENANT[0], other)
    assert any("verified" in t for t in say(f"web:other-{run}", TENANT[1], other))


def test_verified_resident_reports_a_leak_and_gets_a_reference(stack):
    chat = new_chat()
    verify(stack, chat)
    stack.say(chat, "the tap in my kitchen is dripping all the time and theres water under the sink")
    stack.say(chat, "/affirm")  # yes, it is plumbing
    summary = " ".join(texts(stack.say(chat, "weekday mornings")))  # access; the place came with the report
    assert "Shall I log it?" in summary and "kitchen" in summary
    done = " ".join(texts(stack.say(chat, "/affirm")))
    assert "HR-" in done, done
    # The chat that produced it is kept for the officer: the resident's words, buttons as their titles,
    # and not the answers to the identity check.
    chat_kept = kept_chat(stack, done)
    said = [line["text"] for line in chat_kept if line["by"] == "resident"]
    assert "the tap in my kitchen is dripping all the time and theres water under the sink" in said
    assert "weekday mornings" in said and not any(t.startswith("/") for t in said)
    assert not any(TENANT[0] in line["text"] or TENANT[1] in line["text"] for line in chat_kept)
    assert any(line["by"] == "assistant" and "Shall I log it?" in line["text"] for line in chat_kept)
    # A double tap on "yes" makes no second ticket.
    stack.say(chat, "/affirm")
    assert tickets_for_chat(stack, chat) == 1


def test_status_lists_only_the_residents_own_repairs(stack):
    chat = new_chat()
    verify(stack, chat)
    replies = " ".join(texts(stack.say(chat, "any update on my repairs?")))
    assert "HR-" in replies or "no open repairs" in replies
    other = " ".join(texts(stack.say(chat, '/check_status{"ticket_ref": "HR-2222ZZ"}')))
    assert "can't find" in other


def test_leaseholder_inside_repair_is_explained_not_ticketed(stack):
    chat = new_chat()
    verify(stack, chat, LEASEHOLDER)
    replies = " ".join(texts(stack.say(chat, "the kitchen cupboard door has come off its hinges")))
    assert "leaseholder" in replies.lower() or "your responsibility" in replies.lower() or "yours" in replies.lower()
    assert tickets_for_chat(stack, chat) == 0


def test_bot_challenge_is_answered_honestly(stack):
    replies = " ".join(texts(stack.say(new_chat(), "am i talking to a real person?")))
    assert "not a person" in replies or "automated" in replies


def test_out_of_scope_gets_a_pointer(stack):
    replies = " ".join(texts(stack.say(new_chat(), "how do i pay my council tax")))
    assert "council tax" in replies.lower()


def report_leak(stack: Stack, chat: str) -> str:
    stack.say(chat, "the tap in my kitchen is dripping all the time and theres water under the sink")
    stack.say(chat, "/affirm")
    stack.say(chat, "weekday mornings")
    done = " ".join(texts(stack.say(chat, "/affirm")))
    return done.split("reference is ")[1].split(".")[0]


def test_cancel_asks_first_then_cancels(stack):
    chat = new_chat()
    verify(stack, chat)
    reference = report_leak(stack, chat)
    question = " ".join(texts(stack.say(chat, f"please cancel {reference}, its sorted now")))
    assert reference in question and "cancel" in question.lower()
    assert "is cancelled" in " ".join(texts(stack.say(chat, "/affirm")))


def test_nobody_came_offers_to_reopen_or_complain(stack):
    chat = new_chat()
    verify(stack, chat)
    report_leak(stack, chat)
    offer = stack.say(chat, "i want to make a complaint, nobody came to fix it")
    buttons = [b["title"] for r in offer for b in r.get("buttons", [])]  # type: ignore[union-attr]
    assert "Reopen the repair" in buttons and "Make a complaint" in buttons
    recorded = " ".join(texts(stack.say(chat, "/deny")))
    assert "CP-" in recorded and "stage 1" in recorded


def test_asking_for_a_person_gives_the_number_and_books_a_callback(stack):
    chat = new_chat()
    verify(stack, chat)
    replies = " ".join(texts(stack.say(chat, "can i speak to a real person please")))
    assert "call you back" in replies and "020" in replies


def test_flooding_gets_advice_and_an_emergency_ticket_at_once(stack):
    chat = new_chat()
    verify(stack, chat)
    replies = texts(stack.say(chat, "water is pouring through my bathroom ceiling from the flat above"))
    assert "emergency" in replies[0].lower()
    logged = next(t for t in replies if "logged this as an emergency" in t)
    assert {"by": "resident", "text": "water is pouring through my bathroom ceiling from the flat above"} in (
        kept_chat(stack, logged))


def test_an_emergency_the_phrase_rules_miss_is_caught_by_the_learned_signal(stack):
    # No phrase rule in data/policy.yml matches "the power's gone" (tests/test_triage_rules.py checks
    # that); the assistant's emergency classifier does.
    chat = new_chat()
    verify(stack, chat)
    replies = texts(stack.say(chat, "the power's gone in the whole flat"))
    assert "emergency" in replies[0].lower() and "105" in replies[0]
    assert any("logged this as an emergency" in t for t in replies)


def test_a_stale_button_tap_is_not_taken_as_a_typed_answer(stack):
    chat = new_chat()
    verify(stack, chat)
    stack.say(chat, "the tap in my kitchen is dripping all the time and theres water under the sink")
    stack.say(chat, "/affirm")  # yes, it is plumbing; now the access question
    again = " ".join(texts(stack.say(chat, "/affirm"))).lower()  # a second tap on the old button
    assert "shall i log it?" not in again and "/affirm" not in again
    summary = " ".join(texts(stack.say(chat, "weekday mornings")))
    assert "Shall I log it?" in summary and "weekday mornings" in summary


def test_a_shared_fault_already_reported_is_offered_as_me_too(stack):
    """The leaseholder upstairs finds the stair lights out; a tenant in the same block reported it already.
    "Yes, same problem" links the household instead of making a second ticket."""
    import httpx

    reporter, neighbour = new_chat(), new_chat()
    verify(stack, reporter)  # Alder House
    verify(stack, neighbour, LEASEHOLDER)  # Alder House too
    api = httpx.Client(base_url=stack.repairs_url, timeout=30,
                       headers={"Authorization": f"Bearer {stack.repairs_token}"})
    open_now = api.get("/api/v1/shared-faults", params={"category": "communal"},
                       headers={"X-Resident-Channel": reporter}).json()["items"]
    if open_now:
        reference = open_now[0]["reference"]
    else:  # the demo estate has none open in this block today: the tenant reports one
        made = api.post("/api/v1/tickets", headers={"X-Resident-Channel": reporter, "Idempotency-Key": new_chat()},
                        json={"category": "communal", "description": "The lights on the stairs are out",
                              "location_type": "communal", "location": "stairwell"})
        assert made.status_code == 201, made.text
        reference = made.json()["reference"]
    before = api.get("/api/v1/shared-faults", params={"category": "communal"},
                     headers={"X-Resident-Channel": neighbour}).json()["items"][0]["households"]
    offered = " ".join(texts(stack.say(neighbour, "the lights on the stairs are out again, its pitch black")))
    assert reference in offered and "same problem" in offered, offered
    joined = " ".join(texts(stack.say(neighbour, "/affirm")))
    assert f"added your household to {reference}" in joined, joined
    after = api.get("/api/v1/shared-faults", params={"category": "communal"},
                    headers={"X-Resident-Channel": neighbour}).json()["items"][0]
    assert (after["reference"], after["households"]) == (reference, before + 1)
    assert tickets_for_chat(stack, neighbour) == 0, "no second ticket"
    api.close()


def test_misunderstandings_are_counted_for_the_reports(stack):
    """The action server counts each message it did not understand, and each conversation's first, in the
    repairs service (counts only, by channel), which the officers' reports show."""

    def counts() -> dict[str, int]:
        engine = sa.create_engine(stack.database_url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT event, sum(count) FROM assistant_usage WHERE channel = 'web' GROUP BY event")).all()
        engine.dispose()
        return {str(event): int(total) for event, total in rows}

    before = counts()
    chat = f"web:usage-{next(_chats)}"
    stack.say(chat, "hello")
    stack.say(chat, "blah blah blah")
    after = counts()
    gained = {event: after.get(event, 0) - before.get(event, 0) for event in after}
    assert gained.get("misunderstood") == 1 and gained.get("misunderstood_conversation") == 1, gained
    stack.say(chat, "qwerty asdf")
    again = counts()
    assert again.get("misunderstood", 0) - after.get("misunderstood", 0) == 1
    assert again.get("misunderstood_conversation") == after.get("misunderstood_conversation"), "once a conversation"
