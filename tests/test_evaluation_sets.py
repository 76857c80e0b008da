"""The blind evaluation sets are written once and never edited: their checksums and shape are checked here."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

SETS = Path(__file__).resolve().parent.parent / "evaluation" / "sets"
INTENTS = {"report_repair", "check_status", "cancel_repair", "complaint", "request_human", "greet", "goodbye",
           "thank", "out_of_scope"}
CATEGORIES = {"plumbing", "heating", "electrical", "gas", "damp_mould", "roofing", "doors_windows", "fittings",
              "walls_floors", "pests", "lifts", "communal", "external", "fire_safety", "other"}
EMERGENCY_CLASSES = {"gas", "carbon_monoxide", "gas_appliance_wont_turn_off", "uncontained_leak", "no_water",
                     "water_from_outside", "only_toilet", "sewage", "no_power", "dangerous_electrics",
                     "no_heat_at_risk", "insecure_home", "trapped_in_lift", "lifts_out_cannot_use_stairs",
                     "ceiling_collapse", "fall_from_height", "structural_danger"}
ABOUTS = {"delay", "missed_appointment", "repeat_fault", "work_quality", "staff_conduct", "communication", "cost",
          "chat_service", "other"}
STYLES = {"texting", "plain", "long_polite", "second_language", "angry", "carer", "formal", "sarcastic"}
# The paraphrase sets use the seven styles of LABELS.md; "sarcastic" belongs to the dissatisfaction sets only.
PARAPHRASE_STYLES = STYLES - {"sarcastic"}
PARAPHRASE_FIELDS = {"text", "intent", "category", "emergency", "kind", "style", "rule"}
INTENT_SET_FIELDS = {"text", "intent", "category", "emergency", "kind", "style"}
# The intent boundary set's counts, as its brief and evaluation/sets/README.md give them.
INTENT_SET_COUNTS = {"report_repair": 115, "cancel_repair": 60, "check_status": 60, "request_human": 60,
                     "complaint": 40, "out_of_scope": 40, "greet": 15, "goodbye": 15, "thank": 15}


def _checksums() -> dict[str, str]:
    lines = (SETS / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line.strip())}


def _load(name: str) -> list[dict[str, object]]:
    return list(yaml.safe_load((SETS / name).read_text(encoding="utf-8")))


def test_every_committed_set_still_has_its_checksum() -> None:
    sums = _checksums()
    assert {"blind-2026-12/messages.yml", "paraphrases-2026-12/messages.yml", "LABELS.md",
            "dissatisfaction-2026-12/messages.yml", "dissatisfaction-2026-12b/messages.yml",
            "dissatisfaction-2026-12c/messages.yml", "paraphrases-2026-12b/messages.yml",
            "intents-2026-12c/messages.yml"} <= set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((SETS / name).read_bytes()).hexdigest() == digest, (
            f"{name} changed: a set is committed once (evaluation/sets/README.md); retire it and write a new one")


@pytest.mark.parametrize("name", ["blind-2026-12/messages.yml", "paraphrases-2026-12/messages.yml",
                                  "paraphrases-2026-12b/messages.yml", "intents-2026-12c/messages.yml"])
def test_labels_follow_the_rules(name: str) -> None:
    seen: set[str] = set()
    for item in _load(name):
        assert item["intent"] in INTENTS
        key = re.sub(r"[^a-z0-9 ]", "", str(item["text"]).lower()).strip()
        assert key and key not in seen, item["text"]
        seen.add(key)
        if item["intent"] == "report_repair":
            assert item["category"] in CATEGORIES
        else:
            assert item["category"] is None and item["emergency"] is False
        if item["emergency"]:
            assert item["kind"] in EMERGENCY_CLASSES


def test_the_blind_set_is_as_large_as_the_issue_asks() -> None:
    items = _load("blind-2026-12/messages.yml")
    assert len(items) >= 600
    assert sum(bool(i["emergency"]) for i in items) >= 120
    assert {i["intent"] for i in items} == INTENTS
    assert {i["category"] for i in items if i["category"]} == CATEGORIES
    assert {i["kind"] for i in items if i["emergency"]} == EMERGENCY_CLASSES


def test_every_emergency_class_has_twenty_paraphrases_and_counterparts() -> None:
    items = _load("paraphrases-2026-12/messages.yml")
    for rule in EMERGENCY_CLASSES:
        mine = [i for i in items if i["rule"] == rule]
        assert sum(bool(i["emergency"]) for i in mine) >= 20, rule
        assert sum(not i["emergency"] for i in mine) >= 8, rule


def test_the_second_paraphrase_set_has_22_paraphrases_and_10_counterparts_per_class() -> None:
    # The retired paraphrases-2026-12 was tuned against; this one replaces it, so it must be as complete: every
    # class, every style, and counterparts that never carry an emergency class as their kind. Failures name an
    # item's position, never a blind message.
    items = _load("paraphrases-2026-12b/messages.yml")
    assert len(items) == 17 * 32
    assert {i["rule"] for i in items} == EMERGENCY_CLASSES
    for number, item in enumerate(items):
        assert set(item) == PARAPHRASE_FIELDS, number
        assert item["style"] in PARAPHRASE_STYLES and item["intent"] == "report_repair"
        if item["emergency"]:
            assert item["kind"] == item["rule"], number
        else:
            assert item["kind"] and item["kind"] not in EMERGENCY_CLASSES, number
    for rule in EMERGENCY_CLASSES:
        mine = [i for i in items if i["rule"] == rule]
        assert sum(bool(i["emergency"]) for i in mine) == 22, rule
        assert sum(not i["emergency"] for i in mine) == 10, rule
        assert {i["style"] for i in mine if i["emergency"]} == PARAPHRASE_STYLES, rule


@pytest.mark.parametrize("name", ["dissatisfaction-2026-12/messages.yml", "dissatisfaction-2026-12b/messages.yml",
                                  "dissatisfaction-2026-12c/messages.yml"])
def test_the_dissatisfaction_set_is_labelled_and_large_enough(name: str) -> None:
    items = _load(name)
    assert len(items) >= 300
    assert all(isinstance(i["dissatisfied"], bool) for i in items)
    assert all((i["about"] is None) == (not i["dissatisfied"]) for i in items)
    assert 0.3 < sum(bool(i["dissatisfied"]) for i in items) / len(items) < 0.7


def test_the_active_dissatisfaction_set_covers_every_about_and_style_without_repeats() -> None:
    # Per-about recall and per-style false alarms are only worth reporting if each group has enough messages.
    items = _load("dissatisfaction-2026-12b/messages.yml")
    assert len(items) >= 380
    seen: set[str] = set()
    for number, item in enumerate(items):
        # The failure names the item's position, never its text: a blind set's messages are not printed.
        key = re.sub(r"[^a-z0-9 ]", "", str(item["text"]).lower()).strip()
        assert key and key not in seen, f"item {number} is empty or repeats an earlier one"
        seen.add(key)
        assert item["style"] in STYLES
        assert item["about"] is None or item["about"] in ABOUTS
    abouts = [i["about"] for i in items if i["dissatisfied"]]
    assert all(abouts.count(about) >= 10 for about in ABOUTS)
    for flag in (True, False):
        styles = [i["style"] for i in items if i["dissatisfied"] is flag]
        assert all(styles.count(style) >= 8 for style in STYLES), flag


def test_the_harder_dissatisfaction_set_has_its_exact_shape() -> None:
    # 12c was written to exact counts (evaluation/sets/README.md): 400 messages, 180 dissatisfied, 20 per about, so
    # per-about recall is measured on equal groups. Failures name an item's position, never a blind message.
    items = _load("dissatisfaction-2026-12c/messages.yml")
    assert len(items) == 400
    seen: set[str] = set()
    for number, item in enumerate(items):
        assert set(item) == {"text", "dissatisfied", "about", "style"}, number
        assert isinstance(item["dissatisfied"], bool), number
        assert item["style"] in STYLES, number
        if item["dissatisfied"]:
            assert item["about"] in ABOUTS, number
        else:
            assert item["about"] is None, number
        words = len(str(item["text"]).split())
        assert 1 <= words <= 80, number
        key = re.sub(r"[^a-z0-9 ]", "", str(item["text"]).lower()).strip()
        assert key and key not in seen, f"item {number} is empty or repeats an earlier one"
        seen.add(key)
    assert sum(bool(i["dissatisfied"]) for i in items) == 180
    abouts = [i["about"] for i in items if i["dissatisfied"]]
    assert all(abouts.count(about) == 20 for about in ABOUTS)
    for flag in (True, False):
        styles = [i["style"] for i in items if i["dissatisfied"] is flag]
        assert all(styles.count(style) >= 8 for style in STYLES), flag


def test_the_intent_boundary_set_has_its_counts_and_valid_fields() -> None:
    # Per-intent recall on the borders is only worth reporting if every intent has its share; failures name an
    # item's position, never its text (a blind set's messages are not printed).
    items = _load("intents-2026-12c/messages.yml")
    intents = [i["intent"] for i in items]
    assert {intent: intents.count(intent) for intent in INTENT_SET_COUNTS} == INTENT_SET_COUNTS
    assert len(items) == sum(INTENT_SET_COUNTS.values())
    for number, item in enumerate(items):
        assert set(item) == INTENT_SET_FIELDS, number
        assert item["style"] in PARAPHRASE_STYLES, number
        assert isinstance(item["emergency"], bool), number
        assert 1 <= len(str(item["text"]).split()) <= 60, number
        if item["intent"] == "report_repair":
            assert item["category"] in CATEGORIES, number
        else:
            assert item["category"] is None and item["emergency"] is False, number
        assert (item["kind"] in EMERGENCY_CLASSES) if item["emergency"] else item["kind"] is None, number
    emergencies = [i for i in items if i["emergency"]]
    assert 20 <= len(emergencies) <= 30
    assert {i["style"] for i in items} == PARAPHRASE_STYLES
