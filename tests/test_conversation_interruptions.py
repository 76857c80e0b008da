"""Interruptions that must not be taken as a form's answer, with the whole assistant running (Rasa, the action
server, the repairs service): an emergency told at a form's question gets its advice first, is logged, and the
form is offered back; gas gets the gas advice first at every question of every form; an answer typed to a paused
form's question instead of "yes" is that answer; a digression while a yes/no question is open puts the question
again afterwards; and every part of a report's summary can be changed on its own."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.assistant_stack import Stack, assistant_stack, texts

TENANT = ("T-100001", "NW1 8YL")  # seed-demo's first home (a tenant)
GAS_LINE = "0800 111 999"
CARRY_ON = "Shall we carry on with"
LOGGED = "logged this as an emergency"
CUPBOARD = "a door on one of my kitchen cupboards has dropped off its hinge"
BATH = "the seal round my bath has perished"
_chats = itertools.count(1)

# Emergencies other than gas, in the residents' words (the policy decides they are emergencies).
EMERGENCIES = ["water is pouring through the light fitting in my hallway", "someone is stuck in the lift",
               "the front door has been kicked in and won't lock"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with assistant_stack(tmp_path_factory.mktemp("interruptions")) as running:
        yield running


def new_chat() -> str:
    return f"telegram:{830000 + next(_chats)}"


def say(stack: Stack, chat: str, text: str) -> str:
    return texts(stack.say(chat, text))


def first_reply(stack: Stack, chat: str, text: str) -> tuple[str, str]:
    replies = stack.say(chat, text)
    assert replies, f"no answer to {text!r}"
    return str(replies[0].get("text", "")), texts(replies)


def verify(stack: Stack, chat: str) -> None:
    say(stack, chat, "/start_verification")
    say(stack, chat, TENANT[0])
    assert "verified" in say(stack, chat, TENANT[1])


def _tickets(stack: Stack) -> list[tuple[int, str, str, str | None]]:
    """(id, category, priority, location) of every ticket, oldest first."""
    engine = sa.create_engine(stack.database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, category, priority, location FROM tickets ORDER BY id")).all()
    engine.dispose()
    return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]


class NewTickets:
    """The tickets made since it was created: every chat here is the same demo tenant, so tickets are told
    apart by when they were made (the tests in this module run one at a time)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.before = {row[0] for row in _tickets(stack)}

    def __call__(self) -> list[tuple[str, str, str | None]]:
        return [row[1:] for row in _tickets(self.stack) if row[0] not in self.before]


QUESTIONS = {"category": "Is that right?", "place": "Where is the problem", "details": "Tell me a bit more",
             "access": "When can we get in", "summary": "Shall I log it?"}
ANSWERS = {"category": "/affirm", "place": "the bathroom", "details": "it has been like that since last week",
           "access": "weekday mornings"}


def report_until(stack: Stack, chat: str, opening: str, question: str) -> str:
    """Report `opening` and answer the form until it asks `question` (a key of QUESTIONS). A place typed
    after a room the model knows keeps just the room ("the bathroom" -> "bathroom")."""
    answer = say(stack, chat, opening)
    for _ in range(6):
        if QUESTIONS[question] in answer:
            return answer
        asked = next((name for name, words in QUESTIONS.items() if words in answer and name != "summary"), None)
        assert asked is not None, answer
        answer = say(stack, chat, ANSWERS[asked])
    raise AssertionError(f"never asked {question}: {answer}")


def in_order(answer: str, *parts: str) -> None:
    places = [answer.find(part) for part in parts]
    assert all(p >= 0 for p in places) and places == sorted(places), (parts, answer)


# --- 1. an emergency told inside a form ------------------------------------------------------------------------

@pytest.mark.parametrize(("opening", "question", "emergency"), [
    (BATH, "place", EMERGENCIES[0]),
    (CUPBOARD, "access", EMERGENCIES[1]),
    (CUPBOARD, "summary", EMERGENCIES[2]),
])
def test_an_emergency_at_a_reports_question_is_advised_logged_and_the_report_offered_back(
        stack, opening, question, emergency):
    chat = new_chat()
    verify(stack, chat)
    made = NewTickets(stack)
    report_until(stack, chat, opening, question)
    answer = say(stack, chat, emergency)
    # Advice first, then the emergency logged, then the offer to come back; not the form's next question.
    in_order(answer, "This sounds like an emergency", LOGGED, f"{CARRY_ON} your report")
    assert "Shall I log it?" not in answer.split(LOGGED)[1] and "Where is the problem" not in answer, answer
    assert [priority for _, priority, _ in made()] == ["emergency"]
    back = say(stack, chat, "/affirm")
    assert QUESTIONS[question] in back, back  # the question it had reached, asked again
    # The emergency's words were not kept as the report's answer.
    assert emergency not in back


def test_after_an_emergency_the_paused_report_is_finished_with_everything_kept(stack):
    chat = new_chat()
    verify(stack, chat)
    made = NewTickets(stack)
    report_until(stack, chat, BATH, "place")
    assert LOGGED in say(stack, chat, EMERGENCIES[1])
    answer = say(stack, chat, "/affirm")
    for _ in range(4):
        if "Shall I log it?" in answer:
            break
        asked = next(name for name, words in QUESTIONS.items() if words in answer)
        answer = say(stack, chat, ANSWERS[asked])
    assert "Where: bathroom" in answer and "seal round my bath" in answer, answer
    assert "reference is HR-" in say(stack, chat, "/affirm")
    logged = made()
    assert len(logged) == 2 and logged[0][1] == "emergency" and logged[1][1:] != ("emergency", None), logged
    assert logged[1][2] == "bathroom", logged


def test_an_emergency_while_adding_information_is_logged_and_the_addition_offered_back(stack):
    chat = new_chat()
    verify(stack, chat)
    report_until(stack, chat, CUPBOARD, "summary")
    reference = re.search(r"HR-[0-9A-Z]{6}", say(stack, chat, "/affirm"))
    assert reference
    assert "What would you like to add?" in say(stack, chat, f"I want to add something to {reference.group(0)}")
    answer = say(stack, chat, EMERGENCIES[0])
    in_order(answer, "This sounds like an emergency", LOGGED, f"{CARRY_ON} adding information")
    assert "added that" not in answer, answer
    assert "What would you like to add?" in say(stack, chat, "/affirm")


@pytest.mark.parametrize("emergency", EMERGENCIES)
def test_an_emergency_during_verification_gets_its_advice_first_and_verification_goes_on_for_it(stack, emergency):
    chat = new_chat()
    assert "tenancy reference" in say(stack, chat, "I'd like to check on my repairs")
    answer = say(stack, chat, emergency)
    in_order(answer, "emergency", "tenancy reference")
    assert "doesn't look like a tenancy reference" not in answer, answer
    say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    # The emergency first, then what verification was started for.
    in_order(done, "verified", LOGGED, "open repair")


# --- gas, at every question of every form ----------------------------------------------------------------------

GAS = "I can smell gas in the kitchen now"
CARBON_MONOXIDE = "my carbon monoxide alarm has just started beeping"


@pytest.mark.parametrize("question", ["tenancy_reference", "postcode"])
def test_gas_during_verification_gets_the_gas_advice_first(stack, question):
    chat = new_chat()
    say(stack, chat, "/start_verification")
    if question == "postcode":
        assert "postcode" in say(stack, chat, TENANT[0])
    first, _ = first_reply(stack, chat, GAS)
    assert GAS_LINE in first, first


@pytest.mark.parametrize(("opening", "question", "gas"), [
    (CUPBOARD, "category", GAS), (BATH, "place", GAS), ("my sink is blocked", "details", GAS),
    (CUPBOARD, "access", GAS), (CUPBOARD, "summary", GAS), (BATH, "place", CARBON_MONOXIDE),
])
def test_gas_at_any_question_of_a_report_gets_the_gas_advice_first(stack, opening, question, gas):
    chat = new_chat()
    verify(stack, chat)
    made = NewTickets(stack)
    try:
        report_until(stack, chat, opening, question)
    except AssertionError:
        pytest.fail(f"the report never asked {question}")
    first, answer = first_reply(stack, chat, gas)
    assert GAS_LINE in first, first
    assert LOGGED in answer, answer
    assert [category for category, _, _ in made()] == ["gas"]


def test_gas_while_adding_information_and_while_a_report_is_paused_gets_the_gas_advice_first(stack):
    chat = new_chat()
    verify(stack, chat)
    report_until(stack, chat, CUPBOARD, "summary")
    reference = re.search(r"HR-[0-9A-Z]{6}", say(stack, chat, "/affirm"))
    assert reference
    say(stack, chat, f"can I add some details to {reference.group(0)}")
    first, answer = first_reply(stack, chat, GAS)
    assert GAS_LINE in first, first
    assert f"{CARRY_ON} adding information" in answer, answer
    assert "haven't added anything" in say(stack, chat, "/deny")
    report_until(stack, chat, BATH, "place")
    assert CARRY_ON in say(stack, chat, "what can you do")
    first, answer = first_reply(stack, chat, "there's a smell of gas coming from the cooker")
    assert GAS_LINE in first, first
    assert f"{CARRY_ON} your report" in answer, answer  # the paused report is still there to come back to


# --- 2. an answer typed to a paused form's question ------------------------------------------------------------

def test_a_place_typed_instead_of_yes_after_a_digression_is_the_answer(stack):
    chat = new_chat()
    verify(stack, chat)
    report_until(stack, chat, BATH, "place")
    assert CARRY_ON in say(stack, chat, "hang on, what repairs have I got open")
    answer = say(stack, chat, "in the bathroom upstairs")
    assert "Where is the problem" not in answer and CARRY_ON not in answer, answer
    for _ in range(4):
        if "Shall I log it?" in answer:
            break
        asked = next(name for name, words in QUESTIONS.items() if words in answer)
        answer = say(stack, chat, ANSWERS[asked])
    assert "Where: in the bathroom upstairs" in answer, answer


def test_details_typed_instead_of_yes_after_a_digression_are_the_answer(stack):
    chat = new_chat()
    verify(stack, chat)
    made = NewTickets(stack)
    report_until(stack, chat, "my sink is blocked", "details")
    assert CARRY_ON in say(stack, chat, "what else can you help with")
    answer = say(stack, chat, "the water won't drain away at all and it smells bad since Sunday")
    assert "Tell me a bit more" not in answer and CARRY_ON not in answer, answer
    for _ in range(4):
        if "Shall I log it?" in answer:
            break
        asked = next(name for name, words in QUESTIONS.items() if words in answer)
        answer = say(stack, chat, ANSWERS[asked])
    assert "since Sunday" in answer, answer
    assert made() == []


def test_a_tenancy_reference_typed_instead_of_yes_after_a_digression_is_the_answer(stack):
    chat = new_chat()
    assert "tenancy reference" in say(stack, chat, "I'd like to see my repairs")
    assert CARRY_ON in say(stack, chat, "what can you do")
    assert "postcode" in say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    assert "verified" in done and "open repair" in done, done


# --- 3. a digression while a yes/no question is open -----------------------------------------------------------

def test_repairs_asked_for_while_a_call_back_is_offered_then_the_offer_again(stack):
    chat = new_chat()
    verify(stack, chat)
    assert "call you back?" in say(stack, chat, "is there a phone number for a real person if I need one?")
    answer = say(stack, chat, "what are my repairs")
    in_order(answer, "open repair", "Shall I still book a call back")
    assert "will call you back" in say(stack, chat, "/affirm")


def test_repairs_asked_for_while_a_cancel_is_asked_then_the_question_again(stack):
    chat = new_chat()
    verify(stack, chat)
    report_until(stack, chat, CUPBOARD, "summary")
    reference = re.search(r"HR-[0-9A-Z]{6}", say(stack, chat, "/affirm"))
    assert reference
    assert "cancel" in say(stack, chat, f"please cancel {reference.group(0)}")
    answer = say(stack, chat, "what are my repairs")
    in_order(answer, "open repair", f"still want me to cancel {reference.group(0)}")
    assert "cancelled" in say(stack, chat, "/affirm").lower()


def test_repairs_asked_for_while_a_paused_report_is_offered_then_the_offer_again(stack):
    chat = new_chat()
    verify(stack, chat)
    report_until(stack, chat, BATH, "place")
    assert CARRY_ON in say(stack, chat, "what can you do")
    answer = say(stack, chat, "show me my repairs")
    in_order(answer, "open repair", CARRY_ON)
    assert "Where is the problem" in say(stack, chat, "/affirm")


# --- 4. "no, that's wrong" at the summary, for every part ------------------------------------------------------

@pytest.mark.parametrize(("pick", "asked", "new", "shown"), [
    ('/inform{"field": "category"}', "Which of these is it closest to?", '/inform{"category": "doors_windows"}',
     "Problem: a door, lock or window"),
    ("the description is wrong", "Tell me a bit more", "the hinge screws have snapped off",
     'More detail: "the hinge screws have snapped off"'),
    ('/inform{"field": "access"}', "When can we get in", "saturday afternoons only", "Access: saturday afternoons"),
    ("it's in the wrong room", "Where is the problem", "the utility room", "Where: utility room"),
])
def test_no_thats_wrong_at_the_summary_changes_any_one_part(stack, pick, asked, new, shown):
    chat = new_chat()
    verify(stack, chat)
    made = NewTickets(stack)
    summary = report_until(stack, chat, CUPBOARD, "summary")
    assert "Which part should I change?" in say(stack, chat, "no, that's wrong")
    assert asked in say(stack, chat, pick)
    again = say(stack, chat, new)
    assert "Shall I log it?" in again and shown in again, again
    # Everything else as it was.
    for line in ("hinge", "Access: weekday mornings" if "Access" not in shown else "Where:"):
        assert line in again, again
    assert summary.count("•") <= again.count("•")
    assert "reference is HR-" in say(stack, chat, "/affirm")
    assert len(made()) == 1


def test_who_is_at_home_can_be_changed_at_the_summary(stack):
    chat = new_chat()
    verify(stack, chat)
    answer = say(stack, chat, "there's black mould growing all over my bedroom wall")
    for _ in range(6):
        if "Shall I log it?" in answer:
            break
        if "elderly, disabled" in answer:
            answer = say(stack, chat, "/deny")
            continue
        asked = next(name for name, words in QUESTIONS.items() if words in answer)
        answer = say(stack, chat, ANSWERS[asked])
    assert "Shall I log it?" in answer and "vulnerable" not in answer, answer
    say(stack, chat, "no that's wrong")
    assert "elderly, disabled" in say(stack, chat, '/inform{"field": "vulnerable_present"}')
    again = say(stack, chat, "/affirm")
    assert "Someone vulnerable is affected" in again, again
