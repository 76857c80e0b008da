"""The shape of the policy YAML files, validated with pydantic so a mistake gives a clear message.

Unknown keys are errors (a misspelt key would otherwise be silently ignored), regular expressions are
compiled at load time, and references between files (a rule naming a category or an advice text) are
checked by `repairs.policy.loader`.
"""

from __future__ import annotations

import re
import string
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from repairs_common import gas
from repairs_common.facts import AFFECTED_CODES, CARBON_MONOXIDE, GAS_LEAK, QUALIFIERS, Facts, FactsError

from repairs.policy.vocabulary import HHSRS_HAZARDS, LocationType, Priority, Tenure

CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
PLACEHOLDERS = frozenset({"out_of_hours_phone"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(patterns: list[str]) -> list[str]:
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern {i + 1} {pattern!r} is not a valid regular expression: {exc}") from exc
    return patterns


def _check_placeholders(text: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"badly formed placeholder ({exc}); write {{out_of_hours_phone}}") from exc
    unknown = fields - PLACEHOLDERS
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; the only one allowed is {{out_of_hours_phone}}")
    return text


# -- categories.yml -------------------------------------------------------------------------------


class CategoryConfig(_Model):
    code: str = Field(pattern=CODE_PATTERN, max_length=30)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    trade: str = Field(pattern=CODE_PATTERN, max_length=40)
    default_priority: Priority
    communal: bool = False
    # The advice key used when this category is an emergency and no emergency rule chose one.
    emergency_advice: str | None = None


class CategoriesFile(_Model):
    categories: list[CategoryConfig] = Field(min_length=1)

    @field_validator("categories")
    @classmethod
    def _unique_codes(cls, value: list[CategoryConfig]) -> list[CategoryConfig]:
        seen: set[str] = set()
        for category in value:
            if category.code in seen:
                raise ValueError(f"category code {category.code!r} appears more than once")
            seen.add(category.code)
        return value


# -- policy.yml -----------------------------------------------------------------------------------


class WorkingDaysConfig(_Model):
    timezone: str = "Europe/London"
    bank_holiday_region: Literal["ENG", "WLS", "SCT", "NIR"] = "ENG"
    extra_closures: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from exc
        return value


class Timescale(_Model):
    """Either clock `hours` or `working_days`; emergencies may also set `make_safe_hours`."""

    hours: int | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, ge=0)
    make_safe_hours: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> Timescale:
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give exactly one of 'hours' or 'working_days'")
        return self


class Timescales(_Model):
    emergency: Timescale
    urgent: Timescale
    routine: Timescale

    def for_priority(self, priority: Priority) -> Timescale:
        timescale: Timescale = getattr(self, Priority(priority).value)
        return timescale


# A qualifier's value in a fact rule or a question's answer: true/false, a choice ("total"), or null for
# "the message does not say" (only in a rule's list of values it accepts).
FactValue = bool | str | None
ASK = "ask"


def _check_fact_value(qualifier: str, value: FactValue) -> None:
    """Refuse a qualifier or value outside repairs_common.facts' vocabulary (the extractor's too)."""
    try:
        Facts.from_labels({qualifier: value})
    except FactsError as exc:
        raise ValueError(f"{exc} (the vocabulary is repairs_common.facts)") from None


class AwaabEmergency(_Model):
    investigate_hours: int = Field(default=24, gt=0)  # investigate and make safe
    # The first phase (27 October 2025) already covers an emergency hazard of any kind: true gives every
    # emergency the clock from `in_force_from`; false gives it only to emergencies in a hazard group in force.
    every_hazard: bool = True


_SIGNIFICANT_KEYS = ("investigate_working_days", "written_summary_working_days", "safety_work_working_days",
                     "further_works_weeks")


class AwaabSignificant(_Model):
    """The significant-hazard clocks, the same for every hazard group."""

    investigate_working_days: int = Field(default=10, ge=0)        # from when we first hear about it
    written_summary_working_days: int = Field(default=3, ge=0)     # from the investigation
    safety_work_working_days: int = Field(default=5, ge=0)         # from the investigation
    further_works_weeks: int = Field(default=12, gt=0)             # from the investigation


class AwaabDamp(_Model):
    categories: list[str] = Field(default_factory=lambda: ["damp_mould"])
    # Words in the description that make a report in another category a damp and mould one.
    text_patterns: list[str] = Field(default_factory=list)
    # Older files kept the significant-hazard clocks here; they are read as `awaab.significant` when that
    # section is absent.
    investigate_working_days: int = Field(default=10, ge=0)
    written_summary_working_days: int = Field(default=3, ge=0)
    safety_work_working_days: int = Field(default=5, ge=0)
    further_works_weeks: int = Field(default=12, gt=0)

    @field_validator("text_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)


class HazardGroupConfig(_Model):
    """HHSRS hazards that come under the clocks together, from `in_force_from` (null: not yet)."""

    in_force_from: date | None
    name: str | None = None  # how the workspace names the group; its code in words when not given
    hazards: list[str] = Field(min_length=1)
    # A report in the group that is not an emergency counts as a significant hazard at these priorities.
    significant_at: list[Priority] = Field(default_factory=lambda: [Priority.URGENT])

    @field_validator("hazards")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [h for h in value if h not in HHSRS_HAZARDS]
        if unknown:
            raise ValueError(f"unknown HHSRS hazard(s) {unknown}; the hazards are {list(HHSRS_HAZARDS)}")
        return value


class HazardFromFacts(_Model):
    """A report whose facts name one of `affected`, and whose qualifiers fit `when` (every one; a list is any
    of its values, null in it meaning "also when the message does not say"), has `hazard`."""

    affected: list[str] = Field(min_length=1)
    when: dict[str, FactValue | list[FactValue]] = Field(default_factory=dict)
    hazard: str

    @model_validator(mode="after")
    def _vocabulary(self) -> HazardFromFacts:
        unknown = [c for c in self.affected if c not in AFFECTED_CODES]
        if unknown:
            raise ValueError(f"unknown affected code(s) {unknown}; the codes are {sorted(AFFECTED_CODES)} "
                             "(repairs_common.facts)")
        for name, accepted in self.when.items():
            if name not in QUALIFIERS:
                raise ValueError(f"unknown qualifier {name!r}; the qualifiers are {list(QUALIFIERS)}")
            for one in accepted if isinstance(accepted, list) else [accepted]:
                _check_fact_value(name, one)
        if self.hazard not in HHSRS_HAZARDS:
            raise ValueError(f"unknown HHSRS hazard {self.hazard!r}; the hazards are {list(HHSRS_HAZARDS)}")
        return self


def _list(value: object) -> list[str]:
    """A list of category codes as an older file gives it (anything else is left to validation to refuse)."""
    return [str(v) for v in value] if isinstance(value, list) else []


class AwaabConfig(_Model):
    enabled: bool = True
    in_force_from: date | None = date(2025, 10, 27)
    tenures: list[Tenure] = Field(default_factory=lambda: [Tenure.TENANT])
    apply_when_tenure_unknown: bool = False
    emergency: AwaabEmergency = Field(default_factory=AwaabEmergency)
    damp_mould: AwaabDamp = Field(default_factory=AwaabDamp)
    significant: AwaabSignificant = Field(default_factory=AwaabSignificant)
    # The phases: group code -> its hazards and the date its reports get the clocks. A file without them
    # (written before the phases) has damp and mould alone, from `in_force_from`, as it always had.
    hazard_groups: dict[str, HazardGroupConfig] = Field(default_factory=dict)
    # A report's hazard: from its facts first (the first entry that fits), else from its category.
    hazard_from_facts: list[HazardFromFacts] = Field(default_factory=list)
    hazard_from_categories: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _before_phases(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        given = data.get("damp_mould")
        damp: dict[str, object] = given if isinstance(given, dict) else {}
        if "significant" not in data:
            data["significant"] = {k: damp[k] for k in _SIGNIFICANT_KEYS if k in damp}
        if "hazard_groups" not in data:
            data["hazard_groups"] = {"damp_mould": {
                "in_force_from": data.get("in_force_from", date(2025, 10, 27)),
                "hazards": ["damp_mould"],
                "significant_at": [p.value for p in Priority if p is not Priority.EMERGENCY],
            }}
            data.setdefault("hazard_from_facts", [{"affected": ["damp_mould"], "hazard": "damp_mould"}])
            data.setdefault("hazard_from_categories",
                            {c: "damp_mould" for c in _list(damp.get("categories", ["damp_mould"]))})
        return data

    @model_validator(mode="after")
    def _hazards(self) -> AwaabConfig:
        bad = [g for g in self.hazard_groups if not re.match(CODE_PATTERN, g)]
        if bad:
            raise ValueError(f"hazard group names must be lower_case_with_underscores, not {bad}")
        seen: dict[str, str] = {}
        for group, config in self.hazard_groups.items():
            for hazard in config.hazards:
                if hazard in seen:
                    raise ValueError(f"hazard {hazard!r} is in two groups: {seen[hazard]!r} and {group!r}")
                seen[hazard] = group
        if "damp_mould" not in seen:
            raise ValueError("the damp_mould hazard must be in a hazard group (the first phase)")
        for hazard in self.hazard_from_categories.values():
            if hazard not in HHSRS_HAZARDS:
                raise ValueError(f"hazard_from_categories: unknown HHSRS hazard {hazard!r}")
        return self

    def group_of(self, hazard: str) -> str | None:
        """The group a hazard is phased in with; None for one in no group (never under the clocks)."""
        for group, config in self.hazard_groups.items():
            if hazard in config.hazards:
                return group
        return None


class VulnerabilityConfig(_Model):
    raise_to_urgent: list[str] = Field(default_factory=list)
    # Words in a message that say someone vulnerable is affected (for text with no known resident,
    # such as triage of an e-mail, and for what a resident says in the chat).
    text_patterns: list[str] = Field(default_factory=list)


class ComplaintStage(_Model):
    acknowledge_working_days: int = Field(ge=0)
    respond_working_days: int = Field(ge=0)  # counted from the acknowledgement deadline


class ComplaintsConfig(_Model):
    stage_1: ComplaintStage
    stage_2: ComplaintStage


class TextMatchingConfig(_Model):
    negation_words: list[str] = Field(default_factory=list)
    negation_window: int = Field(default=3, ge=0)
    resolved_patterns: list[str] = Field(default_factory=list)

    @field_validator("resolved_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)


# What a rule with a `detector` may not also say: the shared detector reads the words itself.
_READ_BY_DETECTOR = ("patterns", "also_match", "exclude", "negation", "resolved_check")


class EmergencyRuleConfig(_Model):
    id: str = Field(pattern=CODE_PATTERN)
    description: str | None = None
    priority: Priority = Priority.EMERGENCY
    categories: list[str] | None = None
    # A hazard the assistant's actions detect too (repairs_common.gas), named instead of given patterns,
    # so the chat's safety advice and the ticket's priority come from the same rule.
    detector: str | None = None
    patterns: list[str] = Field(default_factory=list)
    also_match: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    requires_vulnerable: bool = False
    months: list[int] | None = None
    location_types: list[LocationType] | None = None
    negation: bool = True
    resolved_check: bool = True
    advice: str | None = None

    @field_validator("patterns", "also_match", "exclude")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            bad = [m for m in value if not 1 <= m <= 12]
            if bad or not value:
                raise ValueError(f"months must be a non-empty list of numbers 1 to 12, got {value}")
        return value

    @field_validator("detector")
    @classmethod
    def _detector(cls, value: str | None) -> str | None:
        if value is not None and value not in gas.HAZARDS:
            raise ValueError(f"unknown detector {value!r}; the shared detectors are {', '.join(gas.HAZARDS)}")
        return value

    @model_validator(mode="after")
    def _patterns_or_detector(self) -> EmergencyRuleConfig:
        if self.detector is None:
            if not self.patterns:
                raise ValueError(f"rule {self.id!r} needs 'patterns' (at least one) or a 'detector'")
        else:
            given = [key for key in _READ_BY_DETECTOR if key in self.model_fields_set]
            if given:
                raise ValueError(
                    f"rule {self.id!r} uses the {self.detector!r} detector, which reads the words itself: "
                    f"remove {', '.join(given)}"
                )
        return self


class FactRuleConfig(_Model):
    """A priority decided from facts: `when` names the affected code(s) (any one of them) and the value(s)
    each qualifier must have; a list of values is any one of them, and null in it means "also when the message
    does not say". A rule applies only to what is happening now (`current` not false) unless `when` names
    `current` itself.

    `if_unknown` says what happens while a qualifier the rule needs is unknown: `ask` (the default: the rule
    does not apply, and the assistant may ask about it), or a priority to decide at meanwhile (the safe side
    for a severe risk; the question is still asked, so an answer can lower it). A mapping gives it per
    qualifier; with several unknown, the least pressing of them holds."""

    rule: str = Field(pattern=CODE_PATTERN)
    description: str | None = None
    when: dict[str, FactValue | list[FactValue]]
    priority: Priority = Priority.EMERGENCY
    if_unknown: str | dict[str, str] = ASK
    advice: str | None = None

    @field_validator("when")
    @classmethod
    def _vocabulary(cls, value: dict[str, FactValue | list[FactValue]]) -> dict[str, FactValue | list[FactValue]]:
        affected = value.get("affected")
        codes = affected if isinstance(affected, list) else [affected]
        if not codes or any(not isinstance(c, str) for c in codes):
            raise ValueError("'affected' is required: an affected code or a list of them")
        unknown = [c for c in codes if c not in AFFECTED_CODES]
        if unknown:
            raise ValueError(f"unknown affected code(s) {unknown}; the codes are {sorted(AFFECTED_CODES)} "
                             "(repairs_common.facts)")
        for name, accepted in value.items():
            if name == "affected":
                continue
            if name not in QUALIFIERS:
                raise ValueError(f"unknown qualifier {name!r}; the qualifiers are {list(QUALIFIERS)} "
                                 "(repairs_common.facts)")
            values = accepted if isinstance(accepted, list) else [accepted]
            if not values:
                raise ValueError(f"qualifier {name!r} needs at least one value")
            for one in values:
                _check_fact_value(name, one)
        return value

    @model_validator(mode="after")
    def _if_unknown(self) -> FactRuleConfig:
        per_qualifier = self.if_unknown if isinstance(self.if_unknown, dict) else {}
        for name in per_qualifier:
            if name not in self.when or name == "affected":
                raise ValueError(f"rule {self.rule!r}: if_unknown names {name!r}, which its 'when' does not")
        choices = per_qualifier.values() if per_qualifier else [self.if_unknown]
        allowed = [ASK, *(p.value for p in Priority)]
        for choice in choices:
            if choice not in allowed:
                raise ValueError(f"rule {self.rule!r}: if_unknown must be one of {allowed}, not {choice!r}")
        return self

    def codes(self) -> list[str]:
        affected = self.when["affected"]
        return [str(c) for c in affected] if isinstance(affected, list) else [str(affected)]


class FactQuestionOption(_Model):
    label: str = Field(min_length=1, max_length=40)  # a button
    value: bool | str


class FactQuestionConfig(_Model):
    """The one question the assistant asks when an unknown qualifier would change the priority. `affected`
    optionally narrows it to reports about those codes (the same qualifier reads differently for a leak and a
    gas fire); the first question that fits is asked."""

    qualifier: str
    affected: list[str] | None = None
    text: str = Field(min_length=1, max_length=200)
    options: list[FactQuestionOption] = Field(min_length=2, max_length=4)

    @model_validator(mode="after")
    def _vocabulary(self) -> FactQuestionConfig:
        if self.qualifier not in QUALIFIERS:
            raise ValueError(f"unknown qualifier {self.qualifier!r}; the qualifiers are {list(QUALIFIERS)} "
                             "(repairs_common.facts)")
        unknown = [c for c in self.affected or [] if c not in AFFECTED_CODES]
        if unknown:
            raise ValueError(f"unknown affected code(s) {unknown} (repairs_common.facts)")
        # Gas and carbon monoxide never wait behind a question: safety advice comes first, always.
        never = sorted({GAS_LEAK, CARBON_MONOXIDE} & set(self.affected or []))
        if never:
            raise ValueError(f"no question may be asked about {never}: their safety advice never waits")
        for option in self.options:
            _check_fact_value(self.qualifier, option.value)
        return self


class PolicyFile(_Model):
    version: Literal[1] = 1
    working_days: WorkingDaysConfig = Field(default_factory=WorkingDaysConfig)
    timescales: Timescales
    awaab: AwaabConfig = Field(default_factory=AwaabConfig)
    vulnerability: VulnerabilityConfig = Field(default_factory=VulnerabilityConfig)
    complaints: ComplaintsConfig
    text_matching: TextMatchingConfig = Field(default_factory=TextMatchingConfig)
    emergency_rules: list[EmergencyRuleConfig] = Field(default_factory=list)
    # Below this confidence an extracted fact counts as not known (so it can be asked about).
    fact_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    fact_rules: list[FactRuleConfig] = Field(default_factory=list)
    fact_questions: list[FactQuestionConfig] = Field(default_factory=list)
    advice: dict[str, str]

    @field_validator("advice")
    @classmethod
    def _advice(cls, value: dict[str, str]) -> dict[str, str]:
        if "emergency" not in value:
            raise ValueError("an 'emergency' advice text is required (the fallback for every emergency)")
        for key, text in value.items():
            if not re.match(CODE_PATTERN, key):
                raise ValueError(f"advice key {key!r} must be lower_case_with_underscores")
            if not text.strip():
                raise ValueError(f"advice {key!r} is empty")
            try:
                _check_placeholders(text)
            except ValueError as exc:
                raise ValueError(f"advice {key!r}: {exc}") from exc
        return value

    @field_validator("emergency_rules")
    @classmethod
    def _unique_rules(cls, value: list[EmergencyRuleConfig]) -> list[EmergencyRuleConfig]:
        _refuse_repeats("emergency rule ids", [rule.id for rule in value])
        return value

    @field_validator("fact_rules")
    @classmethod
    def _unique_fact_rules(cls, value: list[FactRuleConfig]) -> list[FactRuleConfig]:
        _refuse_repeats("fact rule names", [rule.rule for rule in value])
        return value

    @model_validator(mode="after")
    def _timescales(self) -> PolicyFile:
        if self.timescales.emergency.make_safe_hours is None and self.timescales.emergency.hours is None:
            raise ValueError("timescales.emergency needs 'hours' or 'make_safe_hours'")
        return self


# -- responsibility.yml ---------------------------------------------------------------------------

Responsible = Literal["council", "resident"]


class Outcome(_Model):
    responsible: Responsible
    reason: str = Field(min_length=1)
    advice: str | None = None

    @field_validator("reason", "advice")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        return None if value is None else _check_placeholders(value)


class ResponsibilityRuleConfig(Outcome):
    id: str = Field(pattern=CODE_PATTERN)
    categories: list[str] | None = None
    location_types: list[LocationType] | None = None
    patterns: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)

    @model_validator(mode="after")
    def _has_condition(self) -> ResponsibilityRuleConfig:
        if self.categories is None and self.location_types is None and not self.patterns:
            raise ValueError(f"rule {self.id!r} needs at least one of categories, location_types, patterns")
        return self


class TenureResponsibility(_Model):
    rules: list[ResponsibilityRuleConfig] = Field(default_factory=list)
    category_defaults: dict[str, Outcome] = Field(default_factory=dict)
    default: Outcome


class ResponsibilityFile(_Model):
    tenant: TenureResponsibility
    leaseholder: TenureResponsibility


def _refuse_repeats(what: str, names: list[str]) -> None:
    """Rules are named in tickets' records and in logs, so a name must say which rule it was."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{what} must be unique, repeated: {dupes}")
