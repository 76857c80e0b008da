"""Priority from facts: every rule of evaluation/FACTS.md's "How the facts decide emergencies", the look-alikes,
the questions asked when an unknown fact would change the priority, and the fallback to phrase rules."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from repairs_common.facts import Facts

from repairs.policy.engine import Assessment, Policy
from repairs.policy.loader import PolicyConfigError, load_policy
from repairs.tickets.models import Priority
from tests.policy_fixtures import DATA_DIR, SUMMER, WINTER, shipped_policy


@pytest.fixture(scope="module")
def policy() -> Policy:
    return shipped_policy()


def decide(policy: Policy, labels: dict[str, Any], *, category: str = "other", text: str = "",
           vulnerable: bool = False, at: datetime = SUMMER) -> Assessment:
    return policy.assess(category, text, vulnerable=vulnerable, tenure=None, at=at, facts=Facts.from_labels(labels))


# (facts as labelled, the rule expected to decide) for every emergency FACTS.md lists.
EMERGENCIES = [
    ({"affected": ["gas_leak"]}, "gas_leak"),
    ({"affected": ["carbon_monoxide"]}, "carbon_monoxide"),
    ({"affected": ["gas_appliance"], "contained": False}, "gas_appliance_wont_turn_off"),
    ({"affected": ["water_leak"], "contained": False}, "uncontained_leak"),
    ({"affected": ["water_leak"], "contained": False, "location": "communal"}, "uncontained_leak"),
    ({"affected": ["water_ingress"], "contained": False}, "water_from_outside"),
    ({"affected": ["water_ingress"]}, "water_from_outside"),  # not said while it comes in: still an emergency
    ({"affected": ["water_supply"], "extent": "total"}, "no_water"),
    ({"affected": ["toilet"], "only_toilet": True}, "only_toilet"),
    ({"affected": ["sewage"]}, "sewage"),
    ({"affected": ["electrical_danger"]}, "electrical_danger"),
    ({"affected": ["ceiling_collapse"]}, "ceiling_collapse"),
    ({"affected": ["structural"]}, "structural_danger"),
    ({"affected": ["power"], "extent": "total"}, "no_power"),
    ({"affected": ["heating"], "extent": "total", "at_risk": True}, "no_heat_at_risk"),
    ({"affected": ["heating"], "at_risk": True}, "no_heat_at_risk"),  # extent not said as partial
    ({"affected": ["hot_water"], "at_risk": True}, "no_heat_at_risk"),
    ({"affected": ["heating"], "cold": True}, "no_heat_freezing"),
    ({"affected": ["hot_water"], "extent": "total", "cold": True}, "no_heat_freezing"),
    ({"affected": ["insecure_entry"], "secure": False}, "insecure_home"),
    ({"affected": ["insecure_entry"], "secure": False, "floor": "ground"}, "insecure_home"),
    ({"affected": ["trapped_in_lift"]}, "trapped_in_lift"),
    ({"affected": ["lift"], "trapped": True}, "trapped_in_lift_now"),
    ({"affected": ["lift"], "extent": "total", "cannot_use_stairs": True}, "lifts_out_cannot_use_stairs"),
    ({"affected": ["fall_from_height"], "floor": "upper", "at_risk": True}, "fall_from_height"),
    # A railing guarding a drop (balcony, balustrade, banister) above the ground floor, whoever lives there.
    ({"affected": ["fall_from_height"], "fixture": "railing", "floor": "upper"}, "fall_from_railing"),
    ({"affected": ["fall_from_height"], "fixture": "railing", "floor": "upper", "at_risk": False},
     "fall_from_railing"),
    # A door that will not lock leaves the home open on any floor; a window only on the ground floor.
    ({"affected": ["insecure_entry"], "secure": False, "fixture": "door", "floor": "upper"}, "insecure_home"),
    ({"affected": ["insecure_entry"], "secure": False, "fixture": "window", "floor": "ground"},
     "insecure_ground_floor_window"),
    # Two things affected: the emergency one decides.
    ({"affected": ["damp_mould", "water_leak"], "contained": False}, "uncontained_leak"),
]


@pytest.mark.parametrize(("labels", "rule"), EMERGENCIES, ids=[r for _, r in EMERGENCIES])
def test_each_emergency_of_facts_md_is_an_emergency(policy: Policy, labels: dict[str, Any], rule: str) -> None:
    result = decide(policy, labels)
    assert (result.priority, result.emergency, result.rule, result.path) == (Priority.EMERGENCY, True, rule, "facts")
    assert result.advice and "020 7000 0000" in result.advice
    assert f"fact_rule:{rule}" in result.reasons


# The look-alikes of LABELS.md, as facts: (facts, priority, rule).
LOOK_ALIKES = [
    ({"affected": ["water_leak"], "contained": True}, Priority.ROUTINE, "leak_contained"),
    ({"affected": ["water_leak"], "contained": False, "location": "external"}, Priority.ROUTINE, None),
    ({"affected": ["water_ingress"], "contained": True}, Priority.URGENT, "contained_water_from_outside"),
    ({"affected": ["power"], "extent": "partial"}, Priority.ROUTINE, None),
    ({"affected": ["heating"], "extent": "partial"}, Priority.ROUTINE, "heating_partial"),
    ({"affected": ["heating"], "extent": "total"}, Priority.URGENT, "no_heat"),
    ({"affected": ["heating"], "extent": "total", "at_risk": False}, Priority.URGENT, "no_heat"),
    ({"affected": ["heating"], "extent": "partial", "at_risk": True}, Priority.URGENT, "heating_partial_at_risk"),
    ({"affected": ["heating"], "extent": "partial", "cold": True}, Priority.ROUTINE, "heating_partial"),
    ({"affected": ["toilet"], "only_toilet": False}, Priority.ROUTINE, None),
    ({"affected": ["lift"], "extent": "partial"}, Priority.URGENT, "lift_out"),
    ({"affected": ["lift"], "extent": "total", "cannot_use_stairs": False}, Priority.URGENT, "lift_out"),
    ({"affected": ["lift"], "trapped": False, "current": False}, Priority.ROUTINE, None),
    # Stuck earlier and out now, even when the words do not say the fault is over.
    ({"affected": ["trapped_in_lift", "lift"], "trapped": False}, Priority.URGENT, "lift_out"),
    ({"affected": ["gas_appliance"], "contained": True}, Priority.URGENT, "gas_appliance_fault"),
    ({"affected": ["fall_from_height"], "floor": "upper", "at_risk": False}, Priority.URGENT, "fall_hazard"),
    ({"affected": ["fall_from_height"], "floor": "ground", "at_risk": True}, Priority.URGENT, "fall_hazard"),
    ({"affected": ["insecure_entry"], "secure": True}, Priority.URGENT, "insecure_entry_secured"),
    # An upstairs window that will not shut is no way in: urgent, not an emergency.
    ({"affected": ["insecure_entry"], "secure": False, "fixture": "window", "floor": "upper"}, Priority.URGENT,
     "upstairs_window_wont_shut"),
    ({"affected": ["fall_from_height"], "fixture": "railing", "floor": "ground"}, Priority.URGENT, "fall_hazard"),
    ({"affected": ["fall_from_height"], "fixture": "window", "floor": "upper", "at_risk": False}, Priority.URGENT,
     "fall_hazard"),
    ({"affected": ["damp_mould"]}, Priority.ROUTINE, None),
    ({"affected": []}, Priority.ROUTINE, None),
    # Over: nothing decides now (a gas leak an engineer has capped, a leak fixed). A gas smell that went away
    # by itself is still current (evaluation/FACTS.md), and the shared detector reads it in the words.
    ({"affected": ["gas_leak"], "current": False}, Priority.ROUTINE, None),
    ({"affected": ["water_leak"], "contained": False, "current": False}, Priority.ROUTINE, None),
]


@pytest.mark.parametrize(("labels", "priority", "rule"), LOOK_ALIKES)
def test_look_alikes_are_not_emergencies(
    policy: Policy, labels: dict[str, Any], priority: Priority, rule: str | None
) -> None:
    result = decide(policy, labels)
    assert (result.priority, result.emergency, result.rule, result.advice) == (priority, False, rule, None)


# (facts with the deciding fact unknown, the question's qualifier, the best decision meanwhile, the answers
# with the priority each gives).
QUESTIONS = [
    ({"affected": ["water_leak"]}, "contained", Priority.URGENT,
     {True: Priority.ROUTINE, False: Priority.EMERGENCY}),
    ({"affected": ["toilet"]}, "only_toilet", Priority.URGENT, {True: Priority.EMERGENCY, False: Priority.ROUTINE}),
    ({"affected": ["heating"]}, "at_risk", Priority.URGENT, {True: Priority.EMERGENCY, False: Priority.URGENT}),
    ({"affected": ["hot_water"], "extent": "total"}, "at_risk", Priority.URGENT,
     {True: Priority.EMERGENCY, False: Priority.URGENT}),
    ({"affected": ["water_supply"]}, "extent", Priority.URGENT,
     {"total": Priority.EMERGENCY, "partial": Priority.URGENT}),
    ({"affected": ["power"]}, "extent", Priority.URGENT, {"total": Priority.EMERGENCY, "partial": Priority.ROUTINE}),
    # A lift out: first whether anyone is stuck in it, then whether someone cannot use the stairs.
    ({"affected": ["lift"]}, "trapped", Priority.URGENT, {True: Priority.EMERGENCY, False: Priority.URGENT}),
    ({"affected": ["lift"], "extent": "total", "trapped": False}, "cannot_use_stairs", Priority.URGENT,
     {True: Priority.EMERGENCY, False: Priority.URGENT}),
    # Someone who cannot use the stairs is stuck: an emergency while asking whether another lift works.
    ({"affected": ["lift"], "cannot_use_stairs": True}, "extent", Priority.EMERGENCY,
     {"total": Priority.EMERGENCY, "partial": Priority.URGENT}),
    ({"affected": ["fall_from_height"], "fixture": "window", "floor": "upper"}, "at_risk", Priority.URGENT,
     {True: Priority.EMERGENCY, False: Priority.URGENT}),
    # Above the ground floor and nobody said to be at risk: whether it is a railing decides.
    ({"affected": ["fall_from_height"], "floor": "upper"}, "fixture", Priority.URGENT,
     {"window": Priority.URGENT, "railing": Priority.EMERGENCY}),
    # A railing and the floor not said: an emergency while asking (never the low guess).
    ({"affected": ["fall_from_height"], "fixture": "railing"}, "floor", Priority.EMERGENCY,
     {"upper": Priority.EMERGENCY, "ground": Priority.URGENT}),
    # A window that will not shut and the floor not said: urgent while asking; the ground floor is an emergency.
    ({"affected": ["insecure_entry"], "secure": False, "fixture": "window"}, "floor", Priority.URGENT,
     {"ground": Priority.EMERGENCY, "upper": Priority.URGENT}),
    # Someone at risk and the floor not said: an emergency while asking, as a fall cannot be undone.
    ({"affected": ["fall_from_height"], "at_risk": True}, "floor", Priority.EMERGENCY,
     {"upper": Priority.EMERGENCY, "ground": Priority.URGENT}),
    ({"affected": ["insecure_entry"]}, "secure", Priority.URGENT, {False: Priority.EMERGENCY, True: Priority.URGENT}),
    ({"affected": ["gas_appliance"]}, "contained", Priority.URGENT, {False: Priority.EMERGENCY, True: Priority.URGENT}),
]


@pytest.mark.parametrize(("labels", "qualifier", "meanwhile", "answers"), QUESTIONS,
                         ids=[f"{q[0]['affected'][0]}-{q[1]}" for q in QUESTIONS])
def test_an_unknown_fact_that_matters_is_asked_about(
    policy: Policy, labels: dict[str, Any], qualifier: str, meanwhile: Priority, answers: dict[Any, Priority]
) -> None:
    result = decide(policy, labels)
    assert result.priority is meanwhile
    assert result.question is not None and result.question.qualifier == qualifier
    assert result.question.text.endswith("?")
    offered = {o.value for o in result.question.options}
    assert offered == set(answers), "every button is one of the answers the rules tell apart"
    for value, priority in answers.items():
        assert result.facts is not None
        answered = policy.assess("other", "", vulnerable=False, tenure=None, at=SUMMER,
                                 facts=result.facts.with_answer(qualifier, value))
        assert answered.priority is priority, (value, answered.reasons)


def test_the_leak_question_reads_as_the_issue_asks(policy: Policy) -> None:
    question = decide(policy, {"affected": ["water_leak"]}).question
    assert question is not None
    assert question.to_json() == {
        "qualifier": "contained", "text": "Is the water contained, or is it spreading?",
        "options": [{"label": "Contained", "value": True}, {"label": "Spreading", "value": False}],
    }


def test_a_gas_appliance_is_asked_about_in_its_own_words(policy: Policy) -> None:
    question = decide(policy, {"affected": ["gas_appliance"]}).question
    assert question is not None and "turn the appliance off" in question.text


@pytest.mark.parametrize("labels", [
    {"affected": ["gas_leak"]},
    {"affected": ["carbon_monoxide"]},
    {"affected": ["gas_leak", "water_leak"]},
    {"affected": ["carbon_monoxide", "heating"]},
])
def test_gas_and_carbon_monoxide_never_wait_for_a_question(policy: Policy, labels: dict[str, Any]) -> None:
    result = decide(policy, labels)
    assert result.emergency and result.question is None


def test_nothing_is_asked_when_every_deciding_fact_is_known(policy: Policy) -> None:
    for labels, _ in EMERGENCIES:
        assert decide(policy, labels).question is None or labels.get("affected") == ["damp_mould", "water_leak"]
    assert decide(policy, {"affected": ["water_leak"], "contained": True}).question is None
    assert decide(policy, {"affected": []}).question is None


def test_the_gas_detector_wins_whatever_the_facts(policy: Policy) -> None:
    result = decide(policy, {"affected": ["water_leak"], "contained": True}, category="plumbing",
                    text="I can smell gas in the kitchen")
    assert (result.emergency, result.path, result.rule, result.question) == (True, "detector", "gas", None)
    assert result.advice and "0800 111 999" in result.advice


def test_a_gas_leak_an_engineer_made_safe_follows_the_facts_not_its_first_sentence(policy: Policy) -> None:
    """The detector reads 'I smelt gas this morning' alone (the chat gives the gas advice first); the whole
    message says the engineer capped it, the facts say it is over, and the priority follows the facts."""
    over = {"affected": ["gas_leak"], "current": False}
    for text in ("I smelt gas this morning. The engineer came and capped the pipe to the cooker.",
                 "Gas leak by the meter yesterday. Cadent made it safe, now I need the pipe replaced"):
        result = decide(policy, over, category="gas", text=text)
        assert (result.emergency, result.path) == (False, "facts"), text
        assert "gas_made_safe" in result.reasons
    # A smell after the capping, or one that is still there, stays the detector's emergency; so does the
    # detector when the facts do not say it is over.
    for text in ("The engineer capped the pipe on Monday. Tonight I can smell gas in the hall.",
                 "I smelt gas this morning. The engineer capped the pipe but I can still smell it."):
        result = decide(policy, over, category="gas", text=text)
        assert (result.emergency, result.rule) == (True, "gas"), text
    result = decide(policy, {"affected": ["gas_leak"]}, category="gas",
                    text="I smelt gas this morning. The engineer came and capped the pipe.")
    assert (result.emergency, result.rule) == (True, "gas")
    # Carbon monoxide has no smell to go away: never overruled this way.
    result = decide(policy, {"affected": ["carbon_monoxide"], "current": False}, category="gas",
                    text="The CO alarm is going off. An engineer capped the boiler pipe last year.")
    assert result.emergency


def test_the_record_says_who_is_at_risk(policy: Policy) -> None:
    """A vulnerable resident on record (or words that say so) is at risk, even when the message is silent."""
    result = decide(policy, {"affected": ["heating"], "extent": "total"}, category="heating", vulnerable=True)
    assert (result.priority, result.rule, result.question) == (Priority.EMERGENCY, "no_heat_at_risk", None)
    assert result.facts is not None and result.facts.get("at_risk") is True


def test_the_vulnerability_raise_still_holds_on_the_facts_path(policy: Policy) -> None:
    result = decide(policy, {"affected": ["water_leak"], "contained": True}, category="plumbing", vulnerable=True)
    assert result.priority is Priority.URGENT and "vulnerable_raise" in result.reasons


def test_a_fact_held_with_little_confidence_counts_as_unknown(policy: Policy) -> None:
    doubtful = Facts.from_json({"affected": [{"code": "water_leak", "p": 0.9}], "contained": {"value": True, "p": 0.3}})
    result = policy.assess("plumbing", "", vulnerable=False, tenure=None, at=SUMMER, facts=doubtful)
    assert result.priority is Priority.URGENT and result.question is not None
    unsure_code = Facts.from_json({"affected": [{"code": "sewage", "p": 0.2}]})
    assert not policy.assess("plumbing", "", vulnerable=False, tenure=None, at=SUMMER, facts=unsure_code).emergency


def test_facts_decide_over_the_words(policy: Policy) -> None:
    """With facts, the phrase rules are not read: a contained leak described with alarming words is routine."""
    text = "water pouring through the ceiling"
    assert policy.assess("plumbing", text, vulnerable=False, tenure=None, at=SUMMER).emergency
    result = decide(policy, {"affected": ["water_leak"], "contained": True}, category="plumbing", text=text)
    assert not result.emergency and result.path == "facts"


def test_without_facts_the_phrase_rules_decide(policy: Policy) -> None:
    result = policy.assess("plumbing", "a pipe has burst and water is pouring through the ceiling",
                           vulnerable=False, tenure=None, at=SUMMER)
    assert (result.emergency, result.path, result.rule, result.facts, result.question) == (
        True, "phrases", "flooding", None, None)
    quiet = policy.assess("fittings", "a cupboard door is loose", vulnerable=False, tenure=None, at=SUMMER)
    assert (quiet.path, quiet.rule) == ("phrases", None)


def test_facts_naming_nothing_affected_leave_the_words_to_the_phrase_rules(policy: Policy) -> None:
    """An extractor that could not place a report is not the last word: the phrase rules still read it."""
    text = "a pipe has burst and water is pouring through the ceiling"
    unsure = Facts.from_json({"affected": [{"code": "water_leak", "p": 0.1}]})
    for facts in (Facts.from_labels({"affected": []}), unsure):
        result = policy.assess("plumbing", text, vulnerable=False, tenure=None, at=SUMMER, facts=facts)
        assert (result.emergency, result.path, result.rule, result.question) == (True, "phrases", "flooding", None)
        assert result.facts == facts  # recorded all the same
    # The learned emergency signal is for a model without a fact extractor; once the extractor has read the words
    # and held nothing, the signal alone does not make an emergency (it raised drains and chirping alarms).
    learned = policy.assess("other", "something is very wrong", vulnerable=False, tenure=None, at=SUMMER,
                            learned_emergency="water", facts=Facts.from_labels({"affected": []}))
    assert not learned.emergency and "model:water" not in learned.reasons
    without_facts = policy.assess("other", "something is very wrong", vulnerable=False, tenure=None, at=SUMMER,
                                  learned_emergency="water")
    assert without_facts.emergency and "model:water" in without_facts.reasons


def test_the_learned_signal_does_not_override_facts(policy: Policy) -> None:
    result = policy.assess("plumbing", "", vulnerable=False, tenure=None, at=SUMMER, learned_emergency="water",
                           facts=Facts.from_labels({"affected": ["water_leak"], "contained": True}))
    assert not result.emergency and result.rule == "leak_contained"


def test_reported_emergency_still_raises_on_the_facts_path(policy: Policy) -> None:
    result = policy.assess("other", "", vulnerable=False, tenure=None, at=SUMMER, reported_emergency=True,
                           facts=Facts.from_labels({"affected": []}))
    assert result.emergency and "reported_emergency" in result.reasons


def test_an_emergency_from_facts_gets_awaab_clocks(policy: Policy) -> None:
    from repairs.residents.models import Tenure

    result = policy.assess("plumbing", "", vulnerable=False, tenure=Tenure.TENANT, at=WINTER,
                           facts=Facts.from_labels({"affected": ["water_leak"], "contained": False}))
    assert result.awaab and "awaab:emergency_hazard" in result.reasons


# -- the start-up check refuses a fact rule or question outside the vocabulary ----------------------------


def _load_with(tmp_path: Path, edit: Any) -> Policy:
    for name in ("categories.yml", "policy.yml", "responsibility.yml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    data = yaml.safe_load((tmp_path / "policy.yml").read_text(encoding="utf-8"))
    edit(data)
    (tmp_path / "policy.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_policy(tmp_path)


def _first(data: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    field = "rule" if key == "fact_rules" else "qualifier"
    return next(item for item in data[key] if item[field] == name)


BAD_FACT_CONFIG = [
    (lambda d: _first(d, "fact_rules", "no_water")["when"].update(affected="water_suply"),
     "fact_rules[", "unknown affected code(s) ['water_suply']"),
    (lambda d: _first(d, "fact_rules", "no_water")["when"].update(extent="all"),
     "fact_rules[", "qualifier 'extent' takes one of ('total', 'partial') or null, not 'all'"),
    (lambda d: _first(d, "fact_rules", "only_toilet")["when"].update(only_toilet="yes"),
     "fact_rules[", "qualifier 'only_toilet' takes true, false or null"),
    (lambda d: _first(d, "fact_rules", "no_power")["when"].update(vulnerable=True),
     "fact_rules[", "unknown qualifier 'vulnerable'"),
    (lambda d: _first(d, "fact_rules", "no_power").pop("when"), "fact_rules[", "when"),
    (lambda d: _first(d, "fact_rules", "no_power")["when"].pop("affected"), "fact_rules[", "'affected' is required"),
    (lambda d: _first(d, "fact_rules", "no_power").update(if_unknown="maybe"), "fact_rules[", "if_unknown must be"),
    (lambda d: _first(d, "fact_rules", "no_power").update(if_unknown={"floor": "emergency"}), "fact_rules[",
     "if_unknown names 'floor', which its 'when' does not"),
    (lambda d: _first(d, "fact_rules", "no_power").update(advice="blackout"), "fact_rules[",
     "unknown advice 'blackout'"),
    (lambda d: _first(d, "fact_rules", "no_power").update(priority="soon"), "fact_rules[", "priority"),
    (lambda d: d["fact_rules"].append({"rule": "no_power", "when": {"affected": "power"}}), "fact_rules",
     "fact rule names must be unique"),
    (lambda d: _first(d, "fact_questions", "only_toilet")["options"][0].update(value="maybe"), "fact_questions[",
     "qualifier 'only_toilet' takes true, false or null"),
    (lambda d: _first(d, "fact_questions", "only_toilet").update(qualifier="one_loo"), "fact_questions[",
     "unknown qualifier 'one_loo'"),
    (lambda d: _first(d, "fact_questions", "at_risk").update(affected=["gas_leak"]), "fact_questions[",
     "no question may be asked about ['gas_leak']"),
    (lambda d: _first(d, "fact_questions", "at_risk").update(options=[{"label": "Yes", "value": True}]),
     "fact_questions[", "at least 2"),
    (lambda d: d.update(fact_confidence=1.5), "fact_confidence", "less than or equal to 1"),
]


@pytest.mark.parametrize(("edit", "where", "message"), BAD_FACT_CONFIG)
def test_a_bad_fact_rule_stops_the_service_with_a_clear_message(
    tmp_path: Path, edit: Any, where: str, message: str
) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        _load_with(tmp_path, edit)
    assert where in str(caught.value) and message in str(caught.value), str(caught.value)


def test_the_shipped_fact_rules_load_and_their_order_holds(policy: Policy) -> None:
    """Emergencies come before the rules that narrow a code to something less pressing."""
    rules = policy.config.fact_rules
    seen_lower = False
    for rule in rules:
        if rule.priority is not Priority.EMERGENCY:
            seen_lower = True
        assert not (seen_lower and rule.priority is Priority.EMERGENCY), rule.rule


def test_a_report_naming_two_hazards_is_as_pressing_as_the_worst(policy: Policy) -> None:
    """A window that may not shut is urgent while we ask; the same words' fall hazard on the 7th floor with a
    3-year-old is an emergency, and the open rule ahead of it must not hide it."""
    both = decide(policy, {"affected": ["insecure_entry", "fall_from_height"], "floor": "upper", "at_risk": True})
    assert (both.priority, both.rule) == (Priority.EMERGENCY, "fall_from_height")
    # Alone, the window's question still decides at urgent while it is asked.
    alone = decide(policy, {"affected": ["insecure_entry"]})
    assert (alone.priority, alone.rule) == (Priority.URGENT, "insecure_home")
    assert alone.question is not None and alone.question.qualifier == "secure"
    # Two open rules below an emergency: the first keeps the decision, and its question is the one asked.
    two = decide(policy, {"affected": ["water_leak", "power"]})
    assert (two.priority, two.rule) == (Priority.URGENT, "uncontained_leak")
    assert two.question is not None and two.question.qualifier == "contained"
