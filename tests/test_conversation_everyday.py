"""Everyday things a new user says in the middle of a form, with the whole assistant running (Rasa, the action
server, the repairs service):
- "bye" is not the answer to the question: the form is kept, and a hello later offers it back;
- a bare "yes" or "I don't know" to a question that wants words gets the question again, not "What can I help
  you with?";
- words the NLU cannot place ("hang on", "what?") at "Is that right?" keep the report going; an emergency in
  such words is advised and logged there and then, and the report offered back, as at any other question;
- an emergency the NLU could not place is an emergency again once the resident presses "Yes" to "Did you
  mean ...?" (the button's own message carries none of the words: actions/fallback.py).

"Bye" and "Did you mean" through the Telegram bot: tests/test_telegram_bot.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.assistant_stack import Stack, assistant_stack, texts

pytestmark = pytest.mark.slow

TENANT = ("T-100001", "NW1 8YL")  # seed-demo's first home (a tenant)
GAS_LINE = "0800 111 999"
CARRY_ON = "Shall we carry on with"
LOGGED = "logged this as an emergency"
KEPT = "isn't logged yet"
MOULD = "theres black mould spreading across the wall behind my daughters bed"
_chats = itertools.count(1)

# Words that describe an emergency but that the NLU cannot place (below the fallback's threshold, so the
# assistant asks "Did you mean ...?"), for the model trained from this repository's data. Checked by
# test_the_fallback_phrases_still_reach_did_you_mean: when the training data moves, pick others.
UNPLACED_EMERGENCY = "yes please. water is pouring in through the ceiling"
UNPLACED_GAS = "yes. gas"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with assistant_stack(tmp_path_factory.mktemp("everyday")) as running:
        yield running


def new_chat() -> str:
    return f"telegram:{930000 + next(_chats)}"


def say(stack: Stack, chat: str, text: str) -> str:
    return texts(stack.say(chat, text))


def verify(stack: Stack, chat: str) -> None:
    say(stack, chat, "/start_verification")
    say(stack, chat, TENANT[0])
    assert "verified" in say(stack, chat, TENANT[1])


def tickets(stack: Stack) -> list[tuple[int, str, str, str]]:
    """(id, category, priority, description) of every ticket."""
    engine = sa.create_engine(stack.database_url)
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, category, priority, description FROM tickets ORDER BY id")).all()
    engine.dispose()
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def new_since(stack: Stack, before: list[tuple[int, str, str, str]]) -> list[tuple[int, str, str, str]]:
    seen = {row[0] for row in before}
    return [row for row in tickets(stack) if row[0] not in seen]


# --- "bye" inside a form ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bye", ["bye", "sorry gotta go", "that's all", "never mind, bye"])
def test_bye_at_a_reports_question_keeps_the_report_and_hello_offers_it_back(stack, bye):
    chat = new_chat()
    verify(stack, chat)
    before = tickets(stack)
    answer = say(stack, chat, MOULD)
    if "Is that right?" in answer:
        answer = say(stack, chat, "/affirm")
    assert "Where is the problem" in answer, answer
    left = say(stack, chat, bye)
    assert "Bye for now" in left and KEPT in left, left
    assert "When can we get in" not in left, left  # the words were not taken as the place
    assert new_since(stack, before) == []
    back = say(stack, chat, "hello")
    assert f"{CARRY_ON} your report about damp or mould?" in back, back
    assert "Where is the problem" in say(stack, chat, "/affirm")  # asked again: "bye" was not its answer


def test_a_bare_yes_or_no_to_where_is_the_problem_asks_for_words_and_keeps_the_report(stack):
    chat = new_chat()
    verify(stack, chat)
    answer = say(stack, chat, MOULD)
    if "Is that right?" in answer:
        answer = say(stack, chat, "/affirm")
    assert "Where is the problem" in answer, answer
    for reply in ("yes", "I don't know"):
        again = say(stack, chat, reply)
        # Not "What can I help you with?" as if the report had gone: the question again, with a word on why.
        assert "help you with" not in again and "anything else" not in again, again
        assert "few words" in again and "Where is the problem" in again, again
    assert "When can we get in" in say(stack, chat, "the back bedroom")


def test_words_not_understood_at_is_that_right_keep_the_report(stack):
    """Twice in a row, which used to end the report without a word and offer a person instead."""
    chat = new_chat()
    verify(stack, chat)
    answer = say(stack, chat, MOULD)
    assert "Is that right?" in answer, answer
    for words in ("hang on", "what?"):
        again = say(stack, chat, words)
        assert "didn't catch that" in again and "Is that right?" in again, again
        assert "person" not in again, again
    assert "Where is the problem" in say(stack, chat, "/affirm")


def test_an_emergency_not_understood_at_is_that_right_is_logged_and_the_report_offered_back(stack):
    chat = new_chat()
    verify(stack, chat)
    assert "Is that right?" in say(stack, chat, MOULD)
    before = tickets(stack)
    answer = say(stack, chat, UNPLACED_EMERGENCY)
    assert "This sounds like an emergency" in answer and LOGGED in answer, answer
    assert answer.index(LOGGED) < answer.index(f"{CARRY_ON} your report about damp or mould?"), answer
    assert "didn't catch that" not in answer, answer
    assert [priority for _, _, priority, _ in new_since(stack, before)] == ["emergency"]
    assert "Is that right?" in say(stack, chat, "/affirm")


def test_bye_during_verification_is_not_a_tenancy_reference(stack):
    chat = new_chat()
    assert "tenancy reference" in say(stack, chat, "I want to check my repairs")
    left = say(stack, chat, "gotta go, bye")
    assert "Bye for now" in left and "checking who you are" in left, left
    assert "doesn't look like a tenancy reference" not in left, left
    back = say(stack, chat, "hi")
    assert f"{CARRY_ON} checking who you are, so I can show your repairs?" in back, back
    assert "tenancy reference" in say(stack, chat, "/affirm")
    say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    assert "verified" in done and "open repair" in done, done


# --- "Yes" to "Did you mean ...?" for an emergency -------------------------------------------------------------

def did_you_mean(stack: Stack, chat: str, words: str) -> tuple[str, list[str]]:
    answer = stack.say(chat, words)
    payloads = [str(b["payload"]) for r in answer for b in r.get("buttons", []) or []]  # type: ignore[union-attr]
    return texts(answer), payloads


def test_the_fallback_phrases_still_reach_did_you_mean(stack):
    for words in (UNPLACED_EMERGENCY, UNPLACED_GAS):
        parsed = httpx.post(f"{stack.rasa_url}/model/parse", params={"token": stack.rasa_token},
                            json={"text": words}, timeout=60).json()
        assert parsed["intent"]["name"] == "nlu_fallback", (words, parsed["intent"])


def test_yes_to_did_you_mean_for_an_emergency_takes_the_emergency_path(stack):
    chat = new_chat()
    verify(stack, chat)
    before = tickets(stack)
    asked, payloads = did_you_mean(stack, chat, UNPLACED_EMERGENCY)
    assert "This sounds like an emergency" in asked and "Did you mean" in asked, asked
    repair = next(p for p in payloads if p.startswith("/repair_"))
    answer = say(stack, chat, repair)
    assert LOGGED in answer, answer
    assert "Is that right?" not in answer and "Where is the problem" not in answer, answer
    made = new_since(stack, before)
    assert [(priority, description) for _, _, priority, description in made] == [("emergency", UNPLACED_EMERGENCY)]


def test_yes_to_did_you_mean_for_gas_gives_the_gas_advice_before_anything_else(stack):
    chat = new_chat()  # not verified: the advice must not wait for verification
    asked, payloads = did_you_mean(stack, chat, UNPLACED_GAS)
    assert GAS_LINE in asked and asked.index(GAS_LINE) < asked.index("Did you mean"), asked
    repair = next(p for p in payloads if p.startswith("/repair_"))
    answer = say(stack, chat, repair)
    assert GAS_LINE in answer, answer
    assert answer.index(GAS_LINE) < answer.index("tenancy reference"), answer
    before = tickets(stack)
    say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    assert LOGGED in done, done
    made = new_since(stack, before)
    # The resident's words, not the button's "/repair_gas", are what the officer reads.
    assert [(category, priority, description) for _, category, priority, description in made] == [
        ("gas", "emergency", UNPLACED_GAS)], made
