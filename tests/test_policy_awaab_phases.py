"""Awaab's Law in phases: a report's HHSRS hazard (from its facts, else its category, else damp words), and the
clocks its hazard group gets from the group's date, for the tenures the policy lists; older policy files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from repairs_common.facts import Facts

from repairs.policy.engine import Assessment, Policy
from repairs.policy.loader import PolicyConfigError, load_policy
from repairs.policy.vocabulary import HHSRS_HAZARDS, Priority, Tenure

DATA_DIR = Path(__file__).parent.parent / "data"
FILES = ("categories.yml", "policy.yml", "responsibility.yml")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DATA_DIR)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assess(policy: Policy, category: str, text: str = "", *, at: datetime, labels: dict[str, Any] | None = None,
           tenure: Tenure | None = Tenure.TENANT, vulnerable: bool = False) -> Assessment:
    facts = Facts.from_labels(labels) if labels is not None else None
    return policy.assess(category, text, vulnerable=vulnerable, tenure=tenure, at=at, facts=facts)


# -- the shipped phases ---------------------------------------------------------------------------------

# Either side of each phase's first day, in London time: the day before at 23:30 and the day itself at 00:30.
# 27 Oct 2025 and 2026 fall after the clocks go back (GMT: UTC is local); 27 Oct 2027 is still summer time,
# so 23:30 UTC on the 26th is already the 27th in London.
PHASES = [
    # (group, a report in it that is a significant hazard: category, words, facts, day before, first day)
    ("damp_mould", "damp_mould", "black mould in the bedroom", None, utc(2025, 10, 26, 23, 30),
     utc(2025, 10, 27, 0, 30)),
    ("excess_cold", "heating", "", {"affected": ["heating"], "extent": "partial", "at_risk": True},
     utc(2026, 10, 26, 23, 30), utc(2026, 10, 27, 0, 30)),
    ("falls", "doors_windows", "", {"affected": ["fall_from_height"], "floor": "ground"},
     utc(2026, 10, 26, 23, 30), utc(2026, 10, 27, 0, 30)),
    ("hygiene", "plumbing", "", {"affected": ["water_supply"], "extent": "partial"}, utc(2026, 10, 26, 23, 30),
     utc(2026, 10, 27, 0, 30)),
    ("other_hhsrs", "gas", "", {"affected": ["gas_appliance"]}, utc(2027, 10, 26, 22, 30),
     utc(2027, 10, 26, 23, 30)),
    ("other_hhsrs", "doors_windows", "", {"affected": ["insecure_entry"], "secure": True},
     utc(2027, 10, 26, 22, 30), utc(2027, 10, 26, 23, 30)),
]


@pytest.mark.parametrize(("group", "category", "text", "labels", "before", "first_day"), PHASES,
                         ids=[p[0] for p in PHASES])
def test_a_group_gets_the_significant_hazard_clocks_from_its_first_day(
    policy: Policy, group: str, category: str, text: str, labels: dict[str, Any] | None, before: datetime,
    first_day: datetime,
) -> None:
    earlier = assess(policy, category, text, at=before, labels=labels)
    later = assess(policy, category, text, at=first_day, labels=labels)
    assert earlier.hazard_group == later.hazard_group == group  # the hazard is recorded either way
    assert not earlier.emergency and not later.emergency
    assert not earlier.awaab and not any(r.startswith("awaab:") for r in earlier.reasons)
    assert later.awaab and later.priority in policy.config.awaab.hazard_groups[group].significant_at
    deadlines = policy.deadlines(later, category, first_day)
    assert deadlines.awaab_investigate_by == policy.calendar.add_working_days(first_day, 10)
    assert policy.deadlines(earlier, category, before).awaab_investigate_by is None


def test_the_2027_group_is_not_in_force_in_2026(policy: Policy) -> None:
    a = assess(policy, "doors_windows", "", at=utc(2026, 12, 7, 10),
               labels={"affected": ["insecure_entry"], "secure": True})
    assert (a.hazard, a.hazard_group, a.awaab) == ("entry_by_intruders", "other_hhsrs", False)


# What each fact reads as (FACTS.md's codes), and what a category says when there are no facts.
FROM_FACTS = [
    ({"affected": ["gas_leak"]}, "explosions", "structural_explosions"),
    ({"affected": ["carbon_monoxide"]}, "carbon_monoxide", "other_hhsrs"),
    ({"affected": ["fire"]}, "fire", "fire"),
    ({"affected": ["electrical_danger"]}, "electrical", "electrical"),
    ({"affected": ["ceiling_collapse"]}, "structural_collapse", "structural_explosions"),
    ({"affected": ["structural"]}, "structural_collapse", "structural_explosions"),
    ({"affected": ["fall_from_height"], "floor": "upper"}, "falls_between_levels", "falls"),
    ({"affected": ["heating"], "cold": True}, "excess_cold", "excess_cold"),
    ({"affected": ["heating"], "at_risk": True}, "excess_cold", "excess_cold"),
    ({"affected": ["heating"], "extent": "partial"}, None, None),  # a radiator in June is not excess cold
    ({"affected": ["sewage"]}, "personal_hygiene", "hygiene"),
    ({"affected": ["toilet"], "only_toilet": True}, "personal_hygiene", "hygiene"),
    ({"affected": ["water_supply"], "extent": "total"}, "water_supply", "hygiene"),
    ({"affected": ["pests"]}, "domestic_hygiene", "hygiene"),
    ({"affected": ["damp_mould"]}, "damp_mould", "damp_mould"),
    ({"affected": ["water_leak"], "contained": True}, None, None),
    ({"affected": ["gas_leak", "fall_from_height"]}, "explosions", "structural_explosions"),  # the first entry
]


@pytest.mark.parametrize(("labels", "hazard", "group"), FROM_FACTS)
def test_hazard_from_facts(policy: Policy, labels: dict[str, Any], hazard: str | None, group: str | None) -> None:
    a = assess(policy, "other", "", at=utc(2026, 12, 7, 10), labels=labels)
    assert (a.hazard, a.hazard_group) == (hazard, group)


@pytest.mark.parametrize(("category", "hazard"), [
    ("heating", "excess_cold"), ("electrical", "electrical"), ("fire_safety", "fire"), ("pests", "domestic_hygiene"),
    ("damp_mould", "damp_mould"), ("fittings", None), ("plumbing", None), ("other", None),
])
def test_hazard_from_the_category_without_facts(policy: Policy, category: str, hazard: str | None) -> None:
    assert assess(policy, category, "it is broken", at=utc(2026, 12, 7, 10)).hazard == hazard


def test_facts_speak_before_the_category(policy: Policy) -> None:
    a = assess(policy, "heating", "", at=utc(2026, 12, 7, 10), labels={"affected": ["heating"], "extent": "partial"})
    assert a.hazard is None and not a.awaab


def test_a_falls_emergency_from_facts_gets_the_24_hour_clock(policy: Policy) -> None:
    at = utc(2026, 12, 7, 10)
    a = assess(policy, "doors_windows", "", at=at,
               labels={"affected": ["fall_from_height"], "floor": "upper", "at_risk": True})
    assert a.emergency and a.awaab and (a.hazard, a.hazard_group) == ("falls_between_levels", "falls")
    assert "awaab:emergency_hazard" in a.reasons
    d = policy.deadlines(a, "doors_windows", at)
    assert d.awaab_investigate_by == d.make_safe_by == at + timedelta(hours=24)


def test_a_routine_report_in_a_group_is_not_a_significant_hazard(policy: Policy) -> None:
    a = assess(policy, "doors_windows", "", at=utc(2026, 12, 7, 10),
               labels={"affected": ["fall_from_height"], "floor": "ground"})
    assert a.priority is Priority.URGENT and a.awaab  # the fact rules make it urgent: significant
    routine = assess(policy, "electrical", "light switch cover is loose", at=utc(2026, 12, 7, 10))
    assert routine.priority is Priority.ROUTINE and routine.hazard == "electrical" and not routine.awaab


def test_damp_words_keep_their_clock_when_another_hazard_has_none(policy: Policy) -> None:
    # Electrical is in force but a routine electrical report is not significant: the mould still is.
    a = assess(policy, "electrical", "mould round the light switch", at=utc(2026, 12, 7, 10))
    assert a.awaab and a.hazard == "damp_mould" and "awaab:damp_mould_text" in a.reasons


# -- tenures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tenure", "applies"), [(Tenure.TENANT, True), (Tenure.LEASEHOLDER, False), (None, False)])
def test_only_the_listed_tenures_get_the_clocks(policy: Policy, tenure: Tenure | None, applies: bool) -> None:
    a = assess(policy, "heating", "", at=utc(2026, 12, 7, 10), tenure=tenure,
               labels={"affected": ["heating"], "at_risk": True, "extent": "partial"})
    assert a.hazard == "excess_cold"  # recorded for every tenure: the reports count it
    assert a.awaab is applies


# -- configuration --------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Callable[[Callable[[dict], None]], Path]:
    for name in FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)

    def change(edit: Callable[[dict], None]) -> Path:
        path = tmp_path / "policy.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return tmp_path

    return change


def _old_file(data: dict) -> None:
    """The awaab section as it was before the phases: damp and mould's section carries the timescales."""
    awaab = data["awaab"]
    significant = awaab.pop("significant")
    for key in ("hazard_groups", "hazard_from_facts", "hazard_from_categories"):
        awaab.pop(key)
    awaab["emergency"].pop("every_hazard")
    awaab["damp_mould"].update(significant)
    awaab["damp_mould"]["investigate_working_days"] = 7  # a council's own choice, still honoured


def test_an_old_file_without_phases_has_damp_and_mould_alone(
    data_dir: Callable[[Callable[[dict], None]], Path],
) -> None:
    old = load_policy(data_dir(_old_file))
    at = utc(2026, 12, 7, 10)
    heating = assess(old, "heating", "", at=at,
                     labels={"affected": ["heating"], "at_risk": True, "extent": "partial"})
    assert heating.hazard is None and not heating.awaab
    damp = assess(old, "damp_mould", "mould", at=at)
    assert damp.awaab and damp.hazard_group == "damp_mould" and "awaab:damp_mould" in damp.reasons
    assert old.deadlines(damp, "damp_mould", at).awaab_investigate_by == old.calendar.add_working_days(at, 7)
    assert assess(old, "electrical", "sparks from the socket", at=at).awaab  # every emergency, as before
    assert not assess(old, "damp_mould", "mould", at=utc(2025, 10, 26, 12)).awaab


def test_a_council_moves_a_phase(data_dir: Callable[[Callable[[dict], None]], Path]) -> None:
    def later(data: dict) -> None:
        data["awaab"]["hazard_groups"]["excess_cold"]["in_force_from"] = "2027-04-01"
        data["awaab"]["hazard_groups"]["other_hhsrs"]["in_force_from"] = None

    moved = load_policy(data_dir(later))
    labels = {"affected": ["heating"], "at_risk": True, "extent": "partial"}
    assert not assess(moved, "heating", "", at=utc(2027, 3, 31, 12), labels=labels).awaab
    assert assess(moved, "heating", "", at=utc(2027, 4, 1, 12), labels=labels).awaab
    assert moved.config.awaab.hazard_groups["excess_cold"].in_force_from == date(2027, 4, 1)
    assert not assess(moved, "doors_windows", "", at=utc(2030, 1, 7, 12),
                      labels={"affected": ["insecure_entry"], "secure": True}).awaab


def test_emergencies_only_in_groups_in_force_when_the_council_says(
    data_dir: Callable[[Callable[[dict], None]], Path],
) -> None:
    def narrow(data: dict) -> None:
        data["awaab"]["emergency"]["every_hazard"] = False

    narrowed = load_policy(data_dir(narrow))
    at = utc(2026, 12, 7, 10)
    assert not assess(narrowed, "lifts", "", at=at, labels={"affected": ["trapped_in_lift"]}).awaab  # 2027 group
    assert assess(narrowed, "other", "", at=at, labels={"affected": ["gas_leak"]}).awaab  # explosions, 2026


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["awaab"]["hazard_groups"]["falls"]["hazards"].append("falling_over"), "unknown HHSRS hazard"),
    (lambda d: d["awaab"]["hazard_groups"]["fire"]["hazards"].append("electrical"), "in two groups"),
    (lambda d: d["awaab"]["hazard_groups"].pop("damp_mould"), "damp_mould hazard must be in a hazard group"),
    (lambda d: d["awaab"]["hazard_from_facts"].append({"affected": ["boiler"], "hazard": "fire"}),
     "unknown affected code"),
    (lambda d: d["awaab"]["hazard_from_facts"].append({"affected": ["heating"], "when": {"chilly": True},
                                                        "hazard": "excess_cold"}), "unknown qualifier"),
    (lambda d: d["awaab"]["hazard_from_categories"].update({"boilers": "excess_cold"}), "unknown category"),
    (lambda d: d["awaab"]["hazard_from_categories"].update({"lifts": "stuck"}), "unknown HHSRS hazard"),
    (lambda d: d["awaab"]["hazard_groups"]["falls"].update({"in_force_from": "soon"}), "in_force_from"),
])
def test_a_wrong_phase_is_refused_at_start_up(
    data_dir: Callable[[Callable[[dict], None]], Path], edit: Callable[[dict], None], message: str,
) -> None:
    with pytest.raises(PolicyConfigError, match=message):
        load_policy(data_dir(edit))


def test_every_hhsrs_hazard_but_crowding_is_in_a_shipped_group(policy: Policy) -> None:
    grouped = [h for g in policy.config.awaab.hazard_groups.values() for h in g.hazards]
    assert sorted(grouped) == sorted(h for h in HHSRS_HAZARDS if h != "crowding_space")
    assert len(HHSRS_HAZARDS) == 29
