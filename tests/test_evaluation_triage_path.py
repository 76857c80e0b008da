"""The product-path report's intent confusion: counts per expected and given intent, no message text."""

from __future__ import annotations

from evaluation.triage_path import PathScores, render


def _body(intent: str, emergency: bool = False) -> dict[str, object]:
    return {"intent": intent, "category": None, "emergency": emergency, "rule": None, "facts": None}


def test_intent_confusion_counts_expected_against_given_and_names_no_message() -> None:
    scores = PathScores("blind-x")
    items = [("report_repair", "report_repair"), ("report_repair", "complaint"), ("complaint", "complaint"),
             ("greet", "greet"), ("report_repair", "complaint")]
    from repairs_common.facts import Facts

    for n, (want, got) in enumerate(items):
        item = {"text": f"secret message {n}", "intent": want, "category": None, "emergency": False}
        scores.add(item, _body(got), Facts(), 10.0)
    assert scores.figures()["intent_confusion"] == {
        "complaint": {"complaint": 1}, "greet": {"greet": 1}, "report_repair": {"complaint": 2, "report_repair": 1}}
    report = render({"blind-x": scores})
    assert "| expected | complaint | greet | report_repair | correct |" in report
    assert "| report_repair | 2 |  | 1 | 1/3 |" in report
    assert "| complaint | 1 |  |  | 1/1 |" in report
    assert "secret message" not in report


def test_category_confusion_counts_only_the_mistaken_pairs_and_names_no_message() -> None:
    from repairs_common.facts import Facts

    scores = PathScores("blind-x")
    items = [("gas", "gas"), ("gas", "heating"), ("roofing", "plumbing"), ("gas", "heating")]
    for n, (want, got) in enumerate(items):
        item = {"text": f"secret message {n}", "intent": "report_repair", "category": want, "emergency": False}
        body = {**_body("report_repair"), "category": got}
        scores.add(item, body, Facts(), 10.0)
    assert scores.figures()["category_confusion"] == {"gas": {"heating": 2}, "roofing": {"plumbing": 1}}
    report = render({"blind-x": scores})
    assert "- blind-x: gas -> heating: 2; roofing -> plumbing: 1" in report
    assert "secret message" not in report
