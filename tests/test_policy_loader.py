"""Loading and validating the policy YAML: the shipped files, and clear errors for broken ones."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from repairs.policy.engine import Category, Policy
from repairs.policy.loader import PolicyConfigError, load_policy
from repairs.tickets.models import Priority

DATA_DIR = Path(__file__).parent.parent / "data"
FILES = ("categories.yml", "policy.yml", "responsibility.yml")
CODES = [
    "plumbing",
    "heating",
    "electrical",
    "gas",
    "damp_mould",
    "roofing",
    "doors_windows",
    "fittings",
    "walls_floors",
    "pests",
    "lifts",
    "communal",
    "external",
    "fire_safety",
    "other",
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DATA_DIR, out_of_hours_phone="0300 123 4567")


# -- the shipped configuration --------------------------------------------------------------------------


def test_categories_in_order(policy: Policy) -> None:
    assert list(policy.categories) == CODES


def test_category_fields(policy: Policy) -> None:
    for code, c in policy.categories.items():
        assert isinstance(c, Category) and c.code == code
        assert c.name and c.description.endswith(".") and c.trade
        assert isinstance(c.default_priority, Priority)
    assert policy.category("plumbing").name == "Plumbing and leaks"
    assert policy.category("gas").default_priority is Priority.URGENT
    assert policy.category("lifts").default_priority is Priority.URGENT
    assert policy.category("heating").default_priority is Priority.URGENT
    assert policy.category("fire_safety").default_priority is Priority.URGENT
    assert {c.code for c in policy.categories.values() if c.communal} == {
        "roofing",
        "lifts",
        "communal",
        "external",
    }


def test_unknown_category(policy: Policy) -> None:
    with pytest.raises(KeyError):
        policy.category("nope")


def test_out_of_hours_phone_is_filled_in(policy: Policy) -> None:
    assert policy.out_of_hours_phone == "0300 123 4567"
    assert "0300 123 4567" in policy.advice("emergency")
    for key in policy.config.advice:
        assert "{" not in policy.advice(key)


@pytest.mark.parametrize(
    "key",
    [
        "gas",
        "carbon_monoxide",
        "water",
        "electrical",
        "security",
        "lift",
        "sewage",
        "ceiling",
        "heating_vulnerable",
        "emergency",
    ],
)
def test_advice_texts_exist(policy: Policy, key: str) -> None:
    assert len(policy.advice(key)) > 80


def test_unknown_advice(policy: Policy) -> None:
    with pytest.raises(KeyError):
        policy.advice("nope")


def test_shipped_timescales(policy: Policy) -> None:
    t = policy.config.timescales
    assert (t.emergency.hours, t.emergency.make_safe_hours) == (24, 24)
    assert (t.urgent.working_days, t.routine.working_days) == (5, 20)


def test_default_phone_number() -> None:
    assert load_policy(DATA_DIR).out_of_hours_phone == "020 7974 4444"


# -- broken configuration ----------------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Callable[[str, Callable[[dict], None]], Path]:
    """Copy the data files, let a test change one of them, return the directory."""
    for name in FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)

    def change(name: str, edit: Callable[[dict], None]) -> Path:
        data = yaml.safe_load((tmp_path / name).read_text(encoding="utf-8"))
        edit(data)
        (tmp_path / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return tmp_path

    return change


def _rule(data: dict, rule_id: str) -> dict:
    return next(r for r in data["emergency_rules"] if r["id"] == rule_id)


def test_error_is_a_value_error() -> None:
    assert issubclass(PolicyConfigError, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match=r"categories\.yml: file not found"):
        load_policy(tmp_path)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    (tmp_path / "policy.yml").write_text("timescales:\n  urgent: [5\n", encoding="utf-8")
    with pytest.raises(PolicyConfigError, match=r"policy\.yml: not valid YAML"):
        load_policy(tmp_path)


def test_misspelt_key(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: d["timescales"]["urgent"].update({"workingdays": 5}))
    with pytest.raises(PolicyConfigError) as err:
        load_policy(path)
    assert "timescales.urgent.workingdays" in str(err.value)
    assert "Extra inputs are not permitted" in str(err.value)


def test_not_a_number(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: d["timescales"]["routine"].update({"working_days": "twenty"}))
    with pytest.raises(PolicyConfigError, match=r"timescales\.routine\.working_days: .*'twenty'"):
        load_policy(path)


def test_hours_and_working_days_together(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: d["timescales"]["urgent"].update({"hours": 48}))
    with pytest.raises(PolicyConfigError, match="exactly one of 'hours' or 'working_days'"):
        load_policy(path)


def test_bad_regular_expression(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: _rule(d, "sewage")["patterns"].append("sewage (everywhere"))
    with pytest.raises(PolicyConfigError) as err:
        load_policy(path)
    message = str(err.value)
    assert "policy.yml" in message and "emergency_rules[2].patterns" in message
    assert "not a valid regular expression" in message and "sewage (everywhere" in message


def test_gas_rules_name_the_shared_detector(policy: Policy) -> None:
    rules = {r.id: r for r in policy.config.emergency_rules}
    assert (rules["gas"].detector, rules["carbon_monoxide"].detector) == ("gas", "carbon_monoxide")
    assert not rules["gas"].patterns and not rules["carbon_monoxide"].patterns


def test_unknown_detector(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: _rule(d, "gas").update({"detector": "gas_smell"}))
    with pytest.raises(PolicyConfigError, match=r"(?s)emergency_rules\[1\]\.detector.*unknown detector 'gas_smell'"):
        load_policy(path)


@pytest.mark.parametrize(("key", "value"), [("patterns", ["smell of gas"]), ("negation", False), ("exclude", ["bill"])])
def test_a_detector_rule_carries_no_phrases_of_its_own(
    broken: Callable[[str, Callable[[dict], None]], Path], key: str, value: object
) -> None:
    # They would be silently ignored: the shared detector reads the words itself.
    path = broken("policy.yml", lambda d: _rule(d, "gas").update({key: value}))
    with pytest.raises(PolicyConfigError, match=f"uses the 'gas' detector.*remove {key}"):
        load_policy(path)


def test_a_pattern_rule_needs_patterns(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: _rule(d, "sewage").update({"patterns": []}))
    with pytest.raises(PolicyConfigError, match="'sewage' needs 'patterns'"):
        load_policy(path)


def test_categories_must_be_the_assistants(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    def edit(d: dict) -> None:
        d["categories"] = [c for c in d["categories"] if c["code"] != "pests"]
        d["categories"][0]["code"] = "plumbing_and_drains"
        next(c for c in d["categories"] if c["code"] == "lifts")["communal"] = False

    with pytest.raises(PolicyConfigError) as err:
        load_policy(broken("categories.yml", edit))
    message = str(err.value)
    assert "missing the category code(s) ['plumbing', 'pests']" in message
    assert "plumbing_and_drains: not a category the assistant knows" in message
    assert "lifts.communal: must be true" in message


def test_unknown_category_in_a_rule(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: _rule(d, "lift_entrapment").update({"categories": ["elevators"]}))
    with pytest.raises(PolicyConfigError, match=r"lift_entrapment.*unknown category 'elevators'"):
        load_policy(path)


def test_unknown_advice_in_a_rule(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: _rule(d, "gas").update({"advice": "gas_leak"}))
    with pytest.raises(PolicyConfigError, match="unknown advice 'gas_leak'"):
        load_policy(path)


def test_unknown_placeholder_in_advice(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: d["advice"].update({"water": "Call {repairs_phone} now."}))
    with pytest.raises(PolicyConfigError, match=r"(?s)advice.*unknown placeholder.*repairs_phone"):
        load_policy(path)


def test_duplicate_category(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("categories.yml", lambda d: d["categories"].append(dict(d["categories"][0])))
    with pytest.raises(PolicyConfigError, match="'plumbing' appears more than once"):
        load_policy(path)


def test_bad_priority(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("categories.yml", lambda d: d["categories"][0].update({"default_priority": "asap"}))
    with pytest.raises(PolicyConfigError, match=r"categories\[0\]\.default_priority"):
        load_policy(path)


def test_bad_responsibility(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("responsibility.yml", lambda d: d["leaseholder"]["default"].update({"responsible": "landlord"}))
    with pytest.raises(PolicyConfigError, match=r"(?s)responsibility\.yml.*leaseholder\.default\.responsible"):
        load_policy(path)


def test_bare_yaml_no_gets_a_hint(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    text = (tmp_path / "policy.yml").read_text(encoding="utf-8")
    (tmp_path / "policy.yml").write_text(text.replace('["no", not,', "[no, not,"), encoding="utf-8")
    with pytest.raises(PolicyConfigError, match="put it in quotes"):
        load_policy(tmp_path)


def test_unknown_time_zone(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    path = broken("policy.yml", lambda d: d["working_days"].update({"timezone": "Europe/Londres"}))
    with pytest.raises(PolicyConfigError, match="unknown time zone 'Europe/Londres'"):
        load_policy(path)


def test_changed_numbers_take_effect(broken: Callable[[str, Callable[[dict], None]], Path]) -> None:
    def edit(d: dict) -> None:
        d["timescales"]["urgent"] = {"working_days": 3}
        d["working_days"]["extra_closures"] = ["2026-12-24"]

    from datetime import UTC, datetime

    policy = load_policy(broken("policy.yml", edit))
    assessment = policy.assess(
        "lifts", "lift broken", vulnerable=False, tenure=None, at=datetime(2026, 12, 23, 10, tzinfo=UTC)
    )
    # Wed 23 Dec: [24 closed, 25, 26, 27, 28 closed], Tue 29 (1), Wed 30 (2), Thu 31 (3).
    assert policy.deadlines(assessment, "lifts", datetime(2026, 12, 23, 10, tzinfo=UTC)).due_at == datetime(
        2026, 12, 31, 23, 59, 59, tzinfo=UTC
    )
