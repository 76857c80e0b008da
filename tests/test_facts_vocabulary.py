"""The facts vocabulary (repairs_common.facts): its wire form round-trips, it refuses what is outside it, and
every fact label written in the development set fits it (so labels and code cannot drift apart)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from repairs_common.facts import AFFECTED_CODES, Facts, FactsError, Qualifier

ROOT = Path(__file__).resolve().parents[1]


def test_the_wire_form_round_trips_and_keeps_confidences() -> None:
    facts = Facts((("water_leak", 0.91),), {"contained": Qualifier(False, 0.8), "floor": Qualifier("upper", 0.6)})
    doc = facts.to_json()
    assert doc == {"affected": [{"code": "water_leak", "p": 0.91}], "contained": {"value": False, "p": 0.8},
                   "floor": {"value": "upper", "p": 0.6}}
    again = Facts.from_json(doc)
    assert again.codes() == {"water_leak"}
    assert again.get("contained") is False and again.get("floor") == "upper"


def test_unsaid_is_none_except_current_which_holds_unless_said_over() -> None:
    facts = Facts.from_labels({"affected": ["heating"]})
    assert facts.get("at_risk") is None
    assert facts.get("current") is True
    assert Facts.from_labels({"affected": ["heating"], "current": False}).get("current") is False


def test_an_answer_sets_a_qualifier_with_full_confidence() -> None:
    facts = Facts.from_labels({"affected": ["toilet"]}).with_answer("only_toilet", True)
    assert facts.get("only_toilet") is True
    assert facts.to_json()["only_toilet"] == {"value": True, "p": 1.0}


def test_codes_are_held_above_a_threshold() -> None:
    facts = Facts((("water_leak", 0.9), ("damp_mould", 0.3)))
    assert facts.codes() == {"water_leak"}
    assert facts.codes(0.2) == {"water_leak", "damp_mould"}


@pytest.mark.parametrize("doc", [
    {"affected": [{"code": "volcano", "p": 1}]},
    {"affected": [], "extent": {"value": "most", "p": 1}},
    {"affected": [], "contained": {"value": "yes", "p": 1}},
    {"affected": [], "mood": {"value": True, "p": 1}},
    {"affected": [{"code": "water_leak", "p": 1.5}]},
    {"affected": [], "contained": True},
])
def test_anything_outside_the_vocabulary_is_refused(doc: dict) -> None:
    with pytest.raises(FactsError):
        Facts.from_json(doc)


def test_every_fact_label_in_the_development_set_fits_the_vocabulary() -> None:
    items = yaml.safe_load((ROOT / "evaluation" / "dev" / "messages.yml").read_text(encoding="utf-8"))
    labelled = [item["facts"] for item in items if item.get("facts")]
    assert len(labelled) > 250
    seen: set[str] = set()
    for labels in labelled:
        seen |= Facts.from_labels(labels).codes()
    # The set exercises most of the vocabulary, so a renamed code would show up here.
    assert len(seen) >= len(AFFECTED_CODES) - 2
