"""Residents leaving the path, with the whole assistant running (Rasa, the action server, the repairs
service): a digression inside a form is answered and the form offered back, "stop" logs nothing, small talk
gets a short answer and the question again, one part of a report's summary can be changed, asking for the
number gives it with the offer of a call back, and the request that led to verification is carried out."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.assistant_stack import Stack, assistant_stack

TENANT = ("T-100001", "NW1 8YL")  # seed-demo's first home (a tenant)
_chats = itertools.count(1)
CARRY_ON = "Shall we carry on with"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with assistant_stack(tmp_path_factory.mktemp("digressions")) as running:
        yield running


def new_chat() -> str:
    return f"telegram:{810000 + next(_chats)}"


def say(stack: Stack, chat: str, text: str) -> str:
    return " ".join(str(r.get("text", "")) for r in stack.say(chat, text))


def buttons(stack: Stack, chat: str, text: str) -> tuple[str, list[dict[str, str]]]:
    replies = stack.say(chat, text)
    found = [dict(b) for r in replies for b in r.get("buttons", []) or []]  # type: ignore[union-attr]
    return " ".join(str(r.get("text", "")) for r in replies), found


def verify(stack: Stack, chat: str) -> None:
    say(stack, chat, "/start_verification")
    say(stack, chat, TENANT[0])
    assert "verified" in say(stack, chat, TENANT[1])


def tickets_for_chat(stack: Stack, chat: str) -> list[tuple[str, str | None]]:
    """(category, location) of each ticket this chat's resident reported in the last hour."""
    engine = sa.create_engine(stack.database_url)
    channel, external = chat.split(":", 1)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT t.category, t.location FROM tickets t JOIN channel_identities c ON c.resident_id = t.resident_id "
            "WHERE c.channel = :c AND c.external_id = :e AND t.created_at > datetime('now', '-1 hour')"
        ), {"c": channel, "e": external}).all()
    engine.dispose()
    return [(str(r[0]), r[1]) for r in rows]


CUPBOARD = "a door on one of my kitchen cupboards has dropped off its hinge"


def to_the_summary(stack: Stack, chat: str) -> str:
    """Report a broken cupboard door (the room named) and answer the form until its summary."""
    answer = say(stack, chat, CUPBOARD)
    for _ in range(4):
        if "Shall I log it?" in answer:
            return answer
        if "Is that right?" in answer:
            answer = say(stack, chat, "/affirm")
        elif "When can we get in" in answer:
            answer = say(stack, chat, "weekday mornings")
        elif "Where is the problem" in answer:
            answer = say(stack, chat, "the kitchen")
        else:
            break
    assert "Shall I log it?" in answer, answer
    return answer


def test_repairs_asked_for_inside_a_report_are_shown_and_the_report_carries_on(stack):
    chat = new_chat()
    verify(stack, chat)
    first = say(stack, chat, CUPBOARD)
    assert "Is that right?" in first or "When can we get in" in first, first
    digression = say(stack, chat, "hang on, can you show me what I've already got reported")
    assert "open repair" in digression, digression  # the list (or "no open repairs"), not the form's question
    assert f"{CARRY_ON} your report about" in digression, digression
    back = say(stack, chat, "/affirm")
    assert "Is that right?" in back or "When can we get in" in back, back  # where it was
    assert tickets_for_chat(stack, chat) == []


def test_words_asking_for_repairs_are_not_taken_as_the_answer_to_where(stack):
    chat = new_chat()
    verify(stack, chat)
    answer = say(stack, chat, "the seal round my bath has perished")
    if "Is that right?" in answer:
        answer = say(stack, chat, "/affirm")
    assert "Where is the problem" in answer, answer
    digression = say(stack, chat, "actually let me see my repairs first")
    assert CARRY_ON in digression and "Where is the problem" not in digression, digression
    left = say(stack, chat, "/deny")
    assert "haven't logged anything" in left
    assert tickets_for_chat(stack, chat) == []


def test_a_person_asked_for_during_verification_gets_the_number_and_the_request_is_still_carried_out(stack):
    chat = new_chat()
    asked = say(stack, chat, "I want to check my repairs")
    assert "tenancy reference" in asked
    person = say(stack, chat, "is there a phone number for a real person")
    assert re.search(r"call the repairs team on \d", person), person
    assert f"{CARRY_ON} checking who you are, so I can show your repairs?" in person, person
    assert "tenancy reference" in say(stack, chat, "/affirm")
    say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    # Verified, and then what started it: the list of repairs, not "What can I help you with?".
    assert "verified" in done and ("open repair" in done), done


def test_the_request_that_started_verification_is_carried_out_after_it(stack):
    chat = new_chat()
    assert "tenancy reference" in say(stack, chat, "can you show me the jobs I've reported")
    say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    assert "verified" in done and "open repair" in done, done


def test_asking_for_the_number_gives_it_and_offers_a_call_back_without_booking_one(stack):
    chat = new_chat()
    verify(stack, chat)
    answer, offered = buttons(stack, chat, "is there a phone number for a real person if I need one?")
    assert re.search(r"call the repairs team on \d", answer), answer
    assert "will call you back" not in answer  # offered, not booked
    assert [b["payload"] for b in offered] == ["/affirm", "/deny"]
    assert "will call you back" in say(stack, chat, "/affirm")


def test_stop_inside_a_report_logs_nothing(stack):
    chat = new_chat()
    verify(stack, chat)
    say(stack, chat, CUPBOARD)
    stopped = say(stack, chat, "oh forget it, stop")
    assert "haven't logged anything" in stopped, stopped
    assert tickets_for_chat(stack, chat) == []
    # The form is over: a greeting now is a greeting, not an answer to its question.
    assert "repairs assistant" in say(stack, chat, "hello")


def test_small_talk_and_out_of_scope_in_a_form_get_a_short_answer_and_the_question_again(stack):
    chat = new_chat()
    assert "tenancy reference" in say(stack, chat, "/start_verification")
    bins = say(stack, chat, "when are the bins collected on my road")
    assert "only help with repairs" in bins and "tenancy reference" in bins, bins
    assert "council tax" not in bins  # the short answer, not the long out-of-scope pointer
    thanks = say(stack, chat, "thank you")
    assert "welcome" in thanks and "tenancy reference" in thanks, thanks


def test_what_the_assistant_can_do_inside_a_report_then_back_to_it(stack):
    chat = new_chat()
    verify(stack, chat)
    say(stack, chat, CUPBOARD)
    help_text = say(stack, chat, "what sort of things can you do")
    assert "report a repair" in help_text and CARRY_ON in help_text, help_text
    back = say(stack, chat, "yes please")
    assert "Is that right?" in back or "When can we get in" in back, back


def test_no_thats_wrong_at_the_summary_changes_only_the_place(stack):
    chat = new_chat()
    verify(stack, chat)
    summary = to_the_summary(stack, chat)
    assert "Access: weekday mornings" in summary
    which, offered = buttons(stack, chat, "no that's wrong")
    assert "Which part should I change?" in which, which
    assert '/inform{"field": "place"}' in [b["payload"] for b in offered]
    assert "Where is the problem" in say(stack, chat, '/inform{"field": "place"}')
    again = say(stack, chat, "the utility room")
    # The new place, and everything else as it was: no question asked again but the one changed.
    assert "Where: utility room" in again and "Access: weekday mornings" in again, again
    assert "hinge" in again
    done = say(stack, chat, "/affirm")
    assert "reference is HR-" in done, done
    assert [location for _, location in tickets_for_chat(stack, chat)] == ["utility room"]


@pytest.mark.parametrize("leak", ["the tap in the kitchen leaks and there's water all in the cupboard under the sink",
                                  "my bathroom tap leaks and there's water under the basin"])
def test_a_leak_kept_under_the_sink_gets_no_flood_advice(stack, leak):
    chat = new_chat()
    verify(stack, chat)
    answer = say(stack, chat, leak)
    assert "emergency" not in answer.lower(), answer


def test_an_emergency_told_during_verification_gets_its_advice_and_verification_goes_on_for_it(stack):
    chat = new_chat()
    assert "tenancy reference" in say(stack, chat, "/start_verification")
    answer = say(stack, chat, "water is coming through my ceiling from the flat above and I can't stop it")
    assert "emergency" in answer.lower() and "tenancy reference" in answer, answer
    assert "doesn't look like a tenancy reference" not in answer
    say(stack, chat, TENANT[0])
    done = say(stack, chat, TENANT[1])
    assert "verified" in done and "logged this as an emergency" in done, done


def test_a_digression_while_adding_information_comes_back_to_it(stack):
    chat = new_chat()
    verify(stack, chat)
    to_the_summary(stack, chat)
    reference = re.search(r"HR-[0-9A-Z]{6}", say(stack, chat, "/affirm"))
    assert reference, "no ticket was made"
    asked = say(stack, chat, f"I'd like to add some more details to {reference.group(0)}")
    assert "What would you like to add?" in asked, asked
    help_text = say(stack, chat, "what can you do")
    assert f"{CARRY_ON} adding information to {reference.group(0)}?" in help_text, help_text
    assert "What would you like to add?" in say(stack, chat, "/affirm")
    added = say(stack, chat, "the screws for the hinge have gone missing as well")
    assert f"added that to {reference.group(0)}" in added, added
