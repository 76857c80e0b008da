"""The conversation excerpt the actions send with a new report (actions/excerpt.py): Rasa tracker events
in, the latest session's messages out, oldest first, buttons as their words, identity answers left out."""

from __future__ import annotations

from actions.excerpt import LEFT_OUT, MAX_LINES, report_excerpt


def user(text: str) -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "x"}}}


def bot(text: str, buttons: list[tuple[str, str]] | None = None) -> dict:
    data = {"buttons": [{"title": t, "payload": p} for t, p in buttons or []]}
    return {"event": "bot", "text": text, "data": data}


def test_the_latest_session_in_order_with_buttons_as_their_words() -> None:
    events = [
        {"event": "session_started"}, user("an old chat about something else"), bot("Old answer"),
        {"event": "action", "name": "action_session_start"}, {"event": "session_started"},
        user("water is coming through my kitchen ceiling"),
        bot("Is it coming from the flat above?", [("Yes", "/affirm"), ("No", "/deny")]),
        {"event": "slot", "name": "place", "value": "kitchen"},
        user("/affirm"),
        bot("Shall I log it?", [("Yes, log it", '/affirm{"x": 1}')]),
        user('/affirm{"x": 1}'),
        user("/something_never_offered"),
    ]
    assert report_excerpt(events) == [
        {"by": "resident", "text": "water is coming through my kitchen ceiling"},
        {"by": "assistant", "text": "Is it coming from the flat above?"},
        {"by": "resident", "text": "Yes"},
        {"by": "assistant", "text": "Shall I log it?"},
        {"by": "resident", "text": "Yes, log it"},
        {"by": "resident", "text": "(tapped a button)"},
    ]


def test_identity_check_answers_are_left_out() -> None:
    events = [bot("What is your tenancy reference?"), user("it's T-100001"), bot("And your postcode?"),
              user("nw1 8yl"), user("my boiler is broken")]
    texts = [line["text"] for line in report_excerpt(events)]
    assert texts == ["What is your tenancy reference?", LEFT_OUT, "And your postcode?", LEFT_OUT,
                     "my boiler is broken"]


def test_bounded_in_lines_and_length() -> None:
    events = [user(f"message {i} " + "x" * 2000) for i in range(100)]
    lines = report_excerpt(events, limit=1000)
    assert len(lines) == MAX_LINES
    assert lines[-1]["text"].startswith("message 99 ") and all(len(line["text"]) == 1000 for line in lines)
    assert len(report_excerpt(events)) == 20
    assert report_excerpt([]) == []
