"""Build a `Policy` from the YAML files in the data directory, with errors a council officer can act on.

    policy = load_policy(settings.data_dir, out_of_hours_phone=settings.out_of_hours_phone)

Reads `categories.yml`, `policy.yml` and `responsibility.yml`. Nothing happens at import time; call this once
at start-up and share the result (a `Policy` is immutable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from repairs_common.taxonomy import CATEGORY_CODES, COMMUNAL_CATEGORIES

from repairs.policy.calendar import WorkingCalendar
from repairs.policy.engine import Policy
from repairs.policy.fact_rules import FactRuleSet
from repairs.policy.responsibility import ResponsibilityRules
from repairs.policy.rules import EmergencyRule, RuleSet
from repairs.policy.schema import CategoriesFile, PolicyFile, ResponsibilityFile
from repairs.policy.taxonomy import build_categories
from repairs.policy.text import NegationGuard, compile_pattern, normalise

CATEGORIES_FILE = "categories.yml"
POLICY_FILE = "policy.yml"
RESPONSIBILITY_FILE = "responsibility.yml"

M = TypeVar("M", bound=BaseModel)


class PolicyConfigError(ValueError):
    """The policy configuration is missing or wrong; the message says which file and which key."""


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise PolicyConfigError(f"{path}: cannot read it ({exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyConfigError(f"{path}: not valid YAML: {exc}") from exc


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _message(err: ErrorDetails) -> str:
    message = err["msg"]
    if err["type"] == "string_type" and isinstance(err.get("input"), bool):
        message += " (YAML reads a bare yes, no, on, off, true or false as true/false: put it in quotes)"
    elif "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], dict | list):
        found = repr(err["input"])
        message += f" (found {found if len(found) <= 60 else found[:57] + '...'})"
    return message


def _parse(model: type[M], path: Path) -> M:
    data = _read(path)
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"  {_location(err['loc'])}: {_message(err)}" for err in exc.errors()]
        raise PolicyConfigError(f"{path}: {len(problems)} problem(s):\n" + "\n".join(problems)) from None


def _cross_check(
    categories: CategoriesFile, policy: PolicyFile, responsibility: ResponsibilityFile, data_dir: Path
) -> None:
    codes = {c.code for c in categories.categories}
    advice = set(policy.advice)
    problems: list[str] = []

    def check_codes(where: str, used: list[str] | None) -> None:
        for code in used or []:
            if code not in codes:
                problems.append(f"  {where}: unknown category {code!r}")

    def check_advice(where: str, key: str | None) -> None:
        if key is not None and key not in advice:
            problems.append(f"  {where}: unknown advice {key!r} (add it under 'advice' in {POLICY_FILE})")

    # The codes are the assistant's too (one intent per category): the file describes them, it cannot add
    # or drop one, nor disagree about which are by nature communal.
    missing = [code for code in CATEGORY_CODES if code not in codes]
    if missing:
        problems.append(f"  {CATEGORIES_FILE}: missing the category code(s) {missing} (repairs_common.taxonomy)")
    for c in categories.categories:
        check_advice(f"{CATEGORIES_FILE} {c.code}.emergency_advice", c.emergency_advice)
        if c.code not in CATEGORY_CODES:
            problems.append(f"  {CATEGORIES_FILE} {c.code}: not a category the assistant knows; the codes are "
                            f"{', '.join(CATEGORY_CODES)} (repairs_common.taxonomy)")
        elif c.communal != (c.code in COMMUNAL_CATEGORIES):
            problems.append(f"  {CATEGORIES_FILE} {c.code}.communal: must be {str(not c.communal).lower()}, as the "
                            "assistant has it (repairs_common.taxonomy)")
    for i, rule in enumerate(policy.emergency_rules):
        where = f"{POLICY_FILE} emergency_rules[{i}] ({rule.id})"
        check_codes(where, rule.categories)
        check_advice(where, rule.advice)
    for i, fact_rule in enumerate(policy.fact_rules):
        check_advice(f"{POLICY_FILE} fact_rules[{i}] ({fact_rule.rule})", fact_rule.advice)
    check_codes(f"{POLICY_FILE} vulnerability.raise_to_urgent", policy.vulnerability.raise_to_urgent)
    check_codes(f"{POLICY_FILE} awaab.damp_mould.categories", policy.awaab.damp_mould.categories)
    check_codes(f"{POLICY_FILE} awaab.hazard_from_categories", list(policy.awaab.hazard_from_categories))
    for tenure in ("tenant", "leaseholder"):
        section = getattr(responsibility, tenure)
        for i, r in enumerate(section.rules):
            check_codes(f"{RESPONSIBILITY_FILE} {tenure}.rules[{i}] ({r.id})", r.categories)
        check_codes(f"{RESPONSIBILITY_FILE} {tenure}.category_defaults", list(section.category_defaults))
    if problems:
        raise PolicyConfigError(f"{data_dir}: {len(problems)} problem(s):\n" + "\n".join(problems))


def load_policy(data_dir: Path, *, out_of_hours_phone: str = "020 7974 4444") -> Policy:
    data_dir = Path(data_dir)
    categories = _parse(CategoriesFile, data_dir / CATEGORIES_FILE)
    policy = _parse(PolicyFile, data_dir / POLICY_FILE)
    responsibility = _parse(ResponsibilityFile, data_dir / RESPONSIBILITY_FILE)
    _cross_check(categories, policy, responsibility, data_dir)

    wd = policy.working_days
    calendar = WorkingCalendar(tz=wd.timezone, subdiv=wd.bank_holiday_region, extra_closures=wd.extra_closures)
    matching = policy.text_matching
    guard = NegationGuard(
        words=frozenset(normalise(w) for w in matching.negation_words),
        window=matching.negation_window,
        resolved=tuple(compile_pattern(p) for p in matching.resolved_patterns),
    )
    return Policy(
        config=policy,
        categories=build_categories(categories.categories),
        category_advice={c.code: c.emergency_advice for c in categories.categories if c.emergency_advice},
        calendar=calendar,
        rules=RuleSet(rules=tuple(EmergencyRule.from_config(r) for r in policy.emergency_rules), guard=guard),
        fact_rules=FactRuleSet.from_config(policy.fact_rules, policy.fact_questions, policy.fact_confidence),
        responsibility_rules=ResponsibilityRules(responsibility, out_of_hours_phone),
        out_of_hours_phone=out_of_hours_phone,
    )
